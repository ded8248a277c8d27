/* overflight web: the history page. Loads /api/history for a range and replays it. */
"use strict";

(async () => {
  await OF.loadScale();
  const { map, boundaries } = MapKit.makeMap("map");
  MapKit.legend(map);

  const SPEEDS = [1, 5, 20, 60, 300, 1200, 3600];
  const STALE_MS = 120000; // an aircraft disappears 2 min after its last position
  const ALERT_MS = 900000; // and carries an alert ring for 15 min after an alert
  const $ = (id) => document.getElementById(id);
  const playBtn = $("play");
  const scrub = $("scrub");
  const speed = $("speed");

  let craft = new Map(); // icao24 -> {t, lat, lon, alt, trk, gnd, meta, marker, trail}
  let alerts = [];
  let t0 = 0;
  let t1 = 0;
  let T = 0;
  let playing = false;
  let last = null;
  let chosen = null;
  let chosenLayer = null;

  const toInput = (ms) => new Date(ms).toISOString().slice(0, 19);
  const fromInput = (v) => Date.parse(v + "Z");

  speed.addEventListener("input", () => {
    $("speed-out").textContent = SPEEDS[speed.value] + "×";
  });
  playBtn.addEventListener("click", () => (playing ? pause() : play()));
  scrub.addEventListener("input", () => {
    T = t0 + ((t1 - t0) * scrub.value) / 1000;
    draw();
  });
  $("trail").addEventListener("change", draw);
  $("range-form").addEventListener("submit", (e) => {
    e.preventDefault();
    load(fromInput($("start").value), fromInput($("stop").value));
  });

  function bisect(arr, x) {
    let lo = 0;
    let hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (arr[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo; // first index with arr[i] > x
  }

  function group(res) {
    const p = res.points;
    const meta = new Map(res.aircraft.map((a) => [a.icao24, a]));
    const out = new Map();
    for (let i = 0; i < p.time.length; i++) {
      let c = out.get(p.icao24[i]);
      if (!c) {
        c = { t: [], lat: [], lon: [], alt: [], trk: [], gnd: [], meta: meta.get(p.icao24[i]) || {} };
        out.set(p.icao24[i], c);
      }
      c.t.push(p.time[i]);
      c.lat.push(p.latitude[i]);
      c.lon.push(p.longitude[i]);
      c.alt.push(p.altitude[i]);
      c.trk.push(p.track[i]);
      c.gnd.push(p.onground[i]);
    }
    return out;
  }

  async function load(start, stop) {
    pause();
    if (!(start < stop)) {
      OF.notice("The start of the range must be before its end.");
      return;
    }
    $("summary").textContent = "Loading…";
    let res;
    try {
      const q = `start=${new Date(start).toISOString()}&stop=${new Date(stop).toISOString()}`;
      res = await OF.api(`/api/history?${q}&max_points=60000`);
    } catch (err) {
      $("summary").textContent = "Could not load: " + err.message;
      return;
    }
    for (const c of craft.values()) {
      if (c.marker) c.marker.remove();
      if (c.trail) c.trail.remove();
    }
    if (chosenLayer) chosenLayer.remove();
    chosen = chosenLayer = null;
    craft = group(res);
    alerts = res.alerts.slice().sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    t0 = start;
    t1 = stop;
    T = t0;
    const thinned = res.stride > 1 ? `, every ${res.stride}th kept` : "";
    $("summary").textContent =
      `${OF.dayHms(res.start)} → ${OF.dayHms(res.stop)}: ${OF.num(res.count)} positions ` +
      `(${OF.num(res.total)} stored${thinned}), ${res.aircraft.length} aircraft, ${res.alerts.length} alerts.`;
    renderAircraft(res.aircraft);
    renderAlerts();
    if (res.count) {
      const pts = [];
      for (const c of craft.values()) for (let i = 0; i < c.t.length; i += 10) pts.push([c.lat[i], c.lon[i]]);
      map.fitBounds(L.latLngBounds(pts).pad(0.15), { maxZoom: 10 });
      T = Math.max(t0, Math.min(...[...craft.values()].map((c) => c.t[0])));
    } else {
      boundaries.refresh();
    }
    playBtn.disabled = scrub.disabled = res.count === 0;
    draw();
  }

  function renderAircraft(list) {
    $("aircraft-rows").replaceChildren(
      ...list.map((a) => {
        const badge = a.isr_type ? "ISR" : a.military ? "MIL" : "";
        return OF.el(
          "tr",
          { class: "row" + (badge ? " flagged" : "") + (a.isr_type ? " isr" : ""), "data-icao24": a.icao24, onclick: () => choose(a.icao24) },
          OF.el("td", {}, OF.text(a.callsign)),
          OF.el("td", { class: "mono", text: a.icao24 }),
          OF.el("td", { class: "num", text: OF.num(a.n_points) }),
          OF.el("td", {}, badge ? OF.el("span", { class: "badge " + (a.isr_type ? "isr" : "military"), text: badge }) : null)
        );
      })
    );
  }

  function renderAlerts() {
    $("alert-count").textContent = alerts.length;
    $("alerts-empty").classList.toggle("hidden", alerts.length > 0);
    $("alerts").replaceChildren(
      ...alerts
        .slice()
        .reverse()
        .map((a) =>
          OF.el(
            "li",
            {
              class: "alert-item future",
              "data-time": String(Date.parse(a.time)),
              onclick: () => {
                T = Math.max(t0, Date.parse(a.time) - 60000);
                if (a.latitude !== null) map.panTo([a.latitude, a.longitude]);
                draw();
              },
            },
            OF.el("div", { class: "alert-top" },
              OF.el("span", { class: "kind", text: OF.text(a.kind || a.rule) }),
              OF.el("span", { class: "who", text: `${a.callsign || ""} ${a.icao24 || ""}`.trim() }),
              OF.el("time", { text: OF.hms(a.time) })),
            OF.el("div", { class: "msg", text: OF.text(a.message) })
          )
        )
    );
  }

  function choose(icao) {
    if (chosenLayer) chosenLayer.remove();
    chosenLayer = null;
    chosen = chosen === icao ? null : icao;
    for (const tr of document.querySelectorAll("#aircraft-rows tr")) {
      tr.classList.toggle("selected", tr.dataset.icao24 === chosen);
    }
    if (!chosen) return draw();
    const c = craft.get(chosen);
    const pts = c.t.map((_, i) => ({ latitude: c.lat[i], longitude: c.lon[i], altitude: c.alt[i], onground: c.gnd[i] }));
    chosenLayer = MapKit.trackLayer(pts).addTo(map);
    draw();
  }

  function draw() {
    const trailMs = Number($("trail").value) * 1000;
    const recentAlerts = new Map();
    for (const a of alerts) {
      const ta = Date.parse(a.time);
      if (ta <= T && T - ta <= ALERT_MS && a.icao24) recentAlerts.set(a.icao24, (recentAlerts.get(a.icao24) || 0) + 1);
    }
    for (const [icao, c] of craft) {
      const j = bisect(c.t, T) - 1;
      if (j < 0 || T - c.t[j] > STALE_MS) {
        if (c.marker) c.marker.remove();
        if (c.trail) c.trail.remove();
        c.marker = c.trail = null;
        continue;
      }
      let lat = c.lat[j];
      let lon = c.lon[j];
      if (j + 1 < c.t.length && c.t[j + 1] - c.t[j] < STALE_MS) {
        const f = (T - c.t[j]) / (c.t[j + 1] - c.t[j]);
        lat += (c.lat[j + 1] - lat) * f;
        lon += (c.lon[j + 1] - lon) * f;
      }
      const ac = Object.assign({}, c.meta, {
        icao24: icao,
        latitude: lat,
        longitude: lon,
        altitude: c.alt[j],
        track: c.trk[j],
        onground: c.gnd[j],
        n_alerts: recentAlerts.get(icao) || 0,
      });
      if (!c.marker) {
        c.marker = MapKit.aircraftMarker(ac, icao === chosen).addTo(map);
        c.marker.on("click", () => choose(icao));
      } else {
        MapKit.updateMarker(c.marker, ac, icao === chosen);
      }
      const from = trailMs ? bisect(c.t, T - trailMs) : 0;
      const line = [];
      for (let i = from; i <= j; i++) line.push([c.lat[i], c.lon[i]]);
      line.push([lat, lon]);
      const color = OF.color(c.alt[j], c.gnd[j]);
      if (!c.trail) c.trail = L.polyline(line, { pane: "tracks", color, weight: 2, opacity: 0.8, interactive: false }).addTo(map);
      else c.trail.setLatLngs(line).setStyle({ color });
    }
    for (const li of document.querySelectorAll("#alerts li")) {
      const ta = Number(li.dataset.time);
      const passed = ta <= T;
      if (passed && li.classList.contains("future") && playing) li.classList.add("new");
      li.classList.toggle("future", !passed);
      li.classList.toggle("passed", passed);
    }
    scrub.value = t1 > t0 ? Math.round(((T - t0) / (t1 - t0)) * 1000) : 0;
    $("clock").textContent = OF.dayHms(new Date(T).toISOString());
  }

  function frame(ts) {
    if (!playing) return;
    if (last !== null) T = Math.min(t1, T + (ts - last) * SPEEDS[speed.value]);
    last = ts;
    draw();
    if (T >= t1) pause();
    else requestAnimationFrame(frame);
  }

  function play() {
    if (T >= t1) T = t0;
    playing = true;
    last = null;
    playBtn.textContent = "❚❚";
    requestAnimationFrame(frame);
  }

  function pause() {
    playing = false;
    playBtn.textContent = "▶";
  }

  // the initial range: ?start=&stop= (ISO), else the last hour of stored data
  const params = new URLSearchParams(window.location.search);
  let stop = Date.parse(params.get("stop") || "");
  let start = Date.parse(params.get("start") || "");
  if (!(stop > 0)) {
    const st = await OF.api("/api/status");
    stop = st.last ? Date.parse(st.last) + 1000 : Date.now();
    const first = st.first ? Date.parse(st.first) : stop - 3600000;
    if (!(start > 0)) start = Math.max(first, stop - 3600000);
  } else if (!(start > 0)) {
    start = stop - 3600000;
  }
  $("start").value = toInput(start);
  $("stop").value = toInput(stop);
  await load(start, stop);
  if (params.get("play")) play();
})();
