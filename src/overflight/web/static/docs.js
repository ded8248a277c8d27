/* overflight web: a small reader of /api/openapi.json (no CDN, no Swagger UI). */
"use strict";

(async () => {
  const root = document.getElementById("docs");
  const spec = await (await fetch("/api/openapi.json")).json();
  const el = OF.el;
  const plain = (t) => (t || "").replace(/``?([^`]+)``?/g, "$1");
  const resolve = (schema) => {
    if (schema && schema.$ref) return spec.components.schemas[schema.$ref.split("/").pop()];
    return schema || {};
  };
  const typeOf = (schema) => {
    const s = resolve(schema);
    if (s.anyOf) return s.anyOf.map(typeOf).join(" | ");
    if (s.type === "array") return typeOf(s.items) + "[]";
    if (schema && schema.$ref) return schema.$ref.split("/").pop();
    return s.type || (s.enum ? s.enum.join(" | ") : "any");
  };
  const fieldsTable = (schema) => {
    const s = resolve(schema);
    if (!s.properties) return null;
    return el("table", {},
      el("tr", {}, el("th", { text: "field" }), el("th", { text: "type" }), el("th", { text: "meaning" })),
      ...Object.entries(s.properties).map(([k, v]) =>
        el("tr", {}, el("td", { class: "mono", text: k }), el("td", { class: "mono", text: typeOf(v) }), el("td", { text: plain(v.description) }))));
  };
  root.replaceChildren(
    el("h1", { text: `${spec.info.title} API ${spec.info.version}` }),
    el("p", { text: plain(spec.info.description) })
  );
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = (op.parameters || []).map((p) =>
        el("tr", {},
          el("td", { class: "mono", text: p.name + (p.required ? " *" : "") }),
          el("td", { class: "mono", text: `${p.in}: ${typeOf(p.schema)}` }),
          el("td", { text: plain(p.description || (p.schema && p.schema.description)) })));
      const ok = op.responses && (op.responses["200"] || op.responses["201"]);
      const schema = ok && ok.content && ok.content["application/json"] && ok.content["application/json"].schema;
      root.append(
        el("section", { class: "op" },
          el("div", {},
            el("span", { class: "method " + method, text: method.toUpperCase() }),
            el("span", { class: "path", text: path }),
            el("span", { class: "tag", text: (op.tags || []).join(", ") })),
          el("p", { text: plain(op.description || op.summary) }),
          params.length ? el("table", {}, el("tr", {}, el("th", { text: "parameter" }), el("th", { text: "in: type" }), el("th", { text: "meaning" })), ...params) : null,
          schema ? el("details", {}, el("summary", { text: "response: " + typeOf(schema) }), fieldsTable(schema)) : null));
    }
  }
})();
