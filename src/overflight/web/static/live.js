/* overflight web: the live page. Polls aircraft (1.5 s), alerts (2 s) and status (10 s). */
"use strict";

(async () => {
  await OF.loadScale();
  const { map, boundaries } = MapKit.makeMap("map");
  MapKit.legend(map);

  const markers = new Map(); // icao24 -> { marker, ac }
  const seenAlerts = new Set();
  let alertsLoaded = false;
  let selected = null;
  let track = null;
  let trackFetched = 0;
  let dataAt = null;
  let fitted = false;

  document.getElementById("labels").addEventListener("change", (e) => {
    document.body.classList.toggle("show-labels", e.target.checked);
  });
  document.getElementById("details-close").addEventListener("click", () => select(null));

  // -- aircraft --------------------------------------------------------------
  function render(list) {
    const present = new Set();
    for (const ac of list) {
      present.add(ac.icao24);
      const known = markers.get(ac.icao24);
      if (known) {
        MapKit.updateMarker(known.marker, ac, ac.icao24 === selected);
        known.ac = ac;
      } else {
        const marker = MapKit.aircraftMarker(ac, ac.icao24 === selected);
        marker.on("click", () => select(ac.icao24));
        marker.addTo(map);
        markers.set(ac.icao24, { marker, ac });
      }
    }
    for (const [icao, { marker }] of markers) {
      if (!present.has(icao)) {
        marker.remove();
        markers.delete(icao);
      }
    }
    if (!fitted && list.length) {
      const b = L.latLngBounds(list.map((a) => [a.latitude, a.longitude]));
      map.fitBounds(b.pad(0.35), { maxZoom: 9 });
      fitted = true;
    }
    renderTable(list);
    if (selected) renderDetails(markers.get(selected) ? markers.get(selected).ac : null);
  }

  function renderTable(list) {
    const rows = list
      .slice()
      .sort((a, b) => (b.n_alerts - a.n_alerts) || ((b.altitude ?? -1e9) - (a.altitude ?? -1e9)));
    const body = document.getElementById("aircraft-rows");
    body.replaceChildren(
      ...rows.map((ac) => {
        const tr = OF.el(
          "tr",
          { class: "row" + (ac.icao24 === selected ? " selected" : ""), onclick: () => select(ac.icao24) },
          OF.el("td", {}, OF.el("i", { class: "dot", style: `background:${OF.color(ac.altitude, ac.onground)}` }), OF.text(ac.callsign)),
          OF.el("td", { class: "mono", text: ac.icao24 }),
          OF.el("td", { class: "num", text: ac.onground ? "ground" : OF.num(ac.altitude) }),
          OF.el("td", { class: "num", text: OF.num(ac.groundspeed) })
        );
        if (ac.n_alerts > 0) tr.classList.add("alerting");
        if (ac.isr_type || ac.military) tr.classList.add("flagged");
        if (ac.isr_type) tr.classList.add("isr");
        return tr;
      })
    );
  }

  async function pollAircraft() {
    try {
      const res = await OF.api("/api/aircraft?window_s=60");
      dataAt = res.at;
      render(res.aircraft);
      document.getElementById("pill-count").textContent =
        `${res.count} aircraft`;
      document.getElementById("pill-time").textContent = "data " + OF.hms(res.at);
      if (selected && Date.now() - trackFetched > 5000) loadTrack(selected);
    } catch (err) {
      OF.notice("Aircraft: " + err.message);
    } finally {
      setTimeout(pollAircraft, 1500);
    }
  }

  // -- selection, track and details -----------------------------------------------
  async function loadTrack(icao) {
    trackFetched = Date.now();
    try {
      const q = dataAt ? "?stop=" + encodeURIComponent(dataAt) : "";
      const res = await OF.api(`/api/tracks/${icao}${q}`);
      if (selected !== icao) return;
      if (track) track.remove();
      track = MapKit.trackLayer(res.points).addTo(map);
      const info = markers.get(icao);
      if (info) info.track = res;
      renderDetails(info ? info.ac : null, res);
    } catch (err) {
      OF.notice("Track: " + err.message);
    }
  }

  function select(icao) {
    const previous = selected;
    selected = icao;
    for (const id of [previous, icao]) {
      const m = id && markers.get(id);
      if (m) MapKit.updateMarker(m.marker, m.ac, id === selected);
    }
    if (track) {
      track.remove();
      track = null;
    }
    document.getElementById("details").classList.toggle("hidden", !icao);
    if (!icao) return;
    renderDetails(markers.get(icao) ? markers.get(icao).ac : null);
    loadTrack(icao);
  }

  function renderDetails(ac, trackRes) {
    if (!ac) return;
    const info = markers.get(ac.icao24);
    const tr = trackRes || (info && info.track);
    document.getElementById("details-title").textContent = `${ac.callsign || "—"} · ${ac.icao24}`;
    const badges = [];
    if (ac.isr_type) badges.push(OF.el("span", { class: "badge isr", text: "ISR type" }));
    if (ac.military) badges.push(OF.el("span", { class: "badge military", text: "military" }));
    if (ac.mission) badges.push(OF.el("span", { class: "badge mission", text: ac.mission }));
    if (ac.n_alerts) badges.push(OF.el("span", { class: "badge alert", text: `${ac.n_alerts} alert${ac.n_alerts > 1 ? "s" : ""}` }));
    if (ac.onground) badges.push(OF.el("span", { class: "badge", text: "on ground" }));
    document.getElementById("details-badges").replaceChildren(...badges);
    const f = [
      ["Registration", OF.text(ac.registration)],
      ["Type", OF.text(ac.typecode)],
      ["Operator", OF.text(ac.operator)],
      ["Registry", OF.text(ac.registry_country)],
      ["Altitude", ac.altitude === null ? "—" : OF.num(ac.altitude) + " ft"],
      ["Ground speed", ac.groundspeed === null ? "—" : OF.num(ac.groundspeed) + " kt"],
      ["Track", ac.track === null ? "—" : OF.num(ac.track) + "°"],
      ["Vertical rate", ac.vertical_rate === null ? "—" : OF.num(ac.vertical_rate) + " ft/min"],
      ["Squawk", OF.text(ac.squawk)],
      ["Position", `${ac.latitude.toFixed(4)}, ${ac.longitude.toFixed(4)}`],
      ["Airspace", [ac.country, ac.zone].filter(Boolean).join(" · ") || "—"],
      ["Mission", ac.mission ? `${ac.mission} (${OF.num(ac.mission_confidence, 2)})` : "—"],
      ["Last seen", OF.hms(ac.time)],
      ["Flight", OF.text(ac.flight_id)],
      ["Track points", tr ? `${OF.num(tr.count)} since ${OF.hms(tr.start)}` : "…"],
    ];
    if (ac.last_alert) f.push(["Last alert", ac.last_alert]);
    document.getElementById("details-fields").replaceChildren(
      ...f.flatMap(([k, v]) => [OF.el("dt", { text: k }), OF.el("dd", { text: v })])
    );
  }

  // -- alerts ------------------------------------------------------------------------
  function alertItem(a, fresh) {
    const li = OF.el(
      "li",
      { class: "alert-item" + (fresh ? " new" : ""), "data-alert-id": a.alert_id || "" },
      OF.el("div", { class: "alert-top" },
        OF.el("span", { class: "kind", text: OF.text(a.kind || a.rule) }),
        OF.el("span", { class: "who", text: `${a.callsign || ""} ${a.icao24 || ""}`.trim() }),
        OF.el("time", { text: OF.hms(a.time) })),
      OF.el("div", { class: "msg", text: OF.text(a.message) })
    );
    li.addEventListener("click", () => {
      if (a.latitude !== null && a.longitude !== null) map.panTo([a.latitude, a.longitude]);
      if (a.icao24 && markers.has(a.icao24)) select(a.icao24);
    });
    return li;
  }

  const alertNodes = new Map(); // id -> <li>, reused so that a flash plays once

  function alertKey(a) {
    return a.alert_id || `${a.time}|${a.icao24}|${a.rule}`;
  }

  async function pollAlerts() {
    try {
      const res = await OF.api("/api/alerts?limit=100");
      const list = document.getElementById("alerts");
      const keep = new Set();
      const fresh = [];
      let cursor = list.firstChild;
      for (const a of res.alerts) {
        const id = alertKey(a);
        keep.add(id);
        let node = alertNodes.get(id);
        if (!node) {
          const isNew = alertsLoaded && !seenAlerts.has(id);
          node = alertItem(a, isNew);
          alertNodes.set(id, node);
          if (isNew) {
            fresh.push(a);
            setTimeout(() => node.classList.remove("new"), 8000);
          }
        }
        seenAlerts.add(id);
        if (node !== cursor) list.insertBefore(node, cursor);
        else cursor = cursor.nextSibling;
      }
      for (const [id, node] of alertNodes) {
        if (!keep.has(id)) {
          node.remove();
          alertNodes.delete(id);
        }
      }
      document.getElementById("alert-count").textContent = res.count;
      document.getElementById("alerts-empty").classList.toggle("hidden", res.count > 0);
      if (fresh.length) OF.notice(`New alert: ${fresh[0].message || fresh[0].kind}`);
      alertsLoaded = true;
    } catch (err) {
      OF.notice("Alerts: " + err.message);
    } finally {
      setTimeout(pollAlerts, 2000);
    }
  }

  async function pollStatus() {
    try {
      const s = await OF.api("/api/status");
      const pill = document.getElementById("pill-feeds");
      if (!s.feeds.length) {
        pill.textContent = "no feeds";
        pill.className = "pill";
      } else {
        pill.textContent = s.feeds.map((f) => `${f.feed}: ${f.state}`).join(" · ");
        const bad = s.feeds.some((f) => !/^(ok|up|running|connected|live|replay)$/i.test(f.state || ""));
        pill.className = "pill " + (bad ? "warn" : "good");
      }
      const lag = s.last ? (Date.parse(s.server_time) - Date.parse(s.last)) / 1000 : 0;
      const timePill = document.getElementById("pill-time");
      timePill.classList.toggle("stale", lag > 120);
      timePill.title = lag > 120
        ? `stored data: the newest position is ${OF.dayHms(s.last)}, not live`
        : "time of the newest stored position";
    } catch (err) {
      OF.notice("Status: " + err.message);
    } finally {
      setTimeout(pollStatus, 10000);
    }
  }

  await pollAircraft();
  if (!fitted) boundaries.refresh();
  pollAlerts();
  pollStatus();
})();
