/* overflight web: the tile-less dark map, boundaries, graticule, aircraft icons, tracks, legend. */
"use strict";

const MapKit = (() => {
  const PLANE =
    "M16 2C17.2 2 17.8 3.6 17.8 5.5L17.8 12L29 18L29 20.2L17.8 16.8L17.6 24.5L21.5 27.3" +
    "L21.5 29L16 27.6L10.5 29L10.5 27.3L14.4 24.5L14.2 16.8L3 20.2L3 18L14.2 12L14.2 5.5" +
    "C14.2 3.6 14.8 2 16 2Z";

  function makeMap(elementId) {
    const map = L.map(elementId, {
      zoomControl: true,
      worldCopyJump: true,
      minZoom: 2,
      maxZoom: 14,
      attributionControl: true,
    });
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution(
      "Boundaries: land + 12 NM territorial sea, © OpenStreetMap contributors (ODbL) via @geo-maps"
    );
    for (const [name, z] of [["grid", 210], ["boundaries", 220], ["tracks", 420]]) {
      map.createPane(name).style.zIndex = z;
    }
    map.getPane("grid").style.pointerEvents = "none";
    map.getPane("boundaries").style.pointerEvents = "none";
    map.setView([50, 10], 4);
    graticule(map);
    const bounds = boundaryLayer(map);
    return { map, boundaries: bounds };
  }

  function graticule(map) {
    const layer = L.layerGroup([], { pane: "grid" }).addTo(map);
    function draw() {
      layer.clearLayers();
      const z = map.getZoom();
      const step = z <= 3 ? 20 : z <= 5 ? 10 : z <= 6 ? 5 : z <= 7 ? 2 : z <= 9 ? 1 : 0.5;
      const b = map.getBounds().pad(0.2);
      const style = { pane: "grid", color: "#1d2a3a", weight: 1, interactive: false };
      const w = Math.floor(b.getWest() / step) * step;
      const s = Math.max(-85, Math.floor(b.getSouth() / step) * step);
      const n = Math.min(85, Math.ceil(b.getNorth() / step) * step);
      for (let x = w; x <= b.getEast(); x += step) {
        layer.addLayer(L.polyline([[s, x], [n, x]], style));
      }
      for (let y = s; y <= n; y += step) {
        layer.addLayer(L.polyline([[y, w], [y, b.getEast() + step]], style));
      }
    }
    map.on("moveend", draw);
    draw();
  }

  function contains(outer, inner) {
    return outer[0] <= inner[0] && outer[1] <= inner[1] && outer[2] >= inner[2] && outer[3] >= inner[3];
  }

  const ZONE_STYLE = {
    territory: { color: "#2f6d99", weight: 1, dashArray: "4 3", fillColor: "#0f2c45", fillOpacity: 1 },
    land: { color: "#5d6b7b", weight: 1, fillColor: "#1d232b", fillOpacity: 1 },
  };

  // A layer the server could not load stays on screen (a notice fades) and is kept in
  // the map's data-boundaries-error attribute.
  function boundaryProblem(map) {
    const box = L.DomUtil.create("div", "boundaries-error hidden");
    box.setAttribute("role", "alert");
    const control = L.control({ position: "bottomleft" });
    control.onAdd = () => box;
    control.addTo(map);
    return (text) => {
      box.textContent = text;
      box.classList.toggle("hidden", !text);
      if (text) map.getContainer().dataset.boundariesError = text;
      else delete map.getContainer().dataset.boundariesError;
    };
  }

  function boundaryLayer(map) {
    const layer = L.geoJSON(null, {
      pane: "boundaries",
      interactive: false,
      style: (f) => ZONE_STYLE[f.properties.layer] || ZONE_STYLE.territory,
    }).addTo(map);
    const problem = boundaryProblem(map);
    let loaded = null;
    let busy = false;
    let again = false;
    let failed = false;
    async function refresh() {
      if (failed) return;
      if (busy) {
        again = true;
        return;
      }
      const b = map.getBounds().pad(0.5);
      const box = [
        Math.max(-180, b.getWest()),
        Math.max(-89.9, b.getSouth()),
        Math.min(180, b.getEast()),
        Math.min(89.9, b.getNorth()),
      ];
      const fresh = loaded && !loaded.pending && contains(loaded.bbox, box);
      if (fresh && Math.abs(loaded.zoom - map.getZoom()) < 2) return;
      busy = true;
      try {
        const gj = await OF.api("/api/boundaries?bbox=" + box.map((v) => v.toFixed(3)).join(","));
        layer.clearLayers();
        layer.addData(gj);
        // the server answers from one view of its layers: each is drawn, pending or failed
        const errors = Object.values(gj.errors || {});
        problem(errors.length ? "Map boundaries: " + errors.join("; ") : "");
        loaded = { bbox: gj.bbox, zoom: map.getZoom(), pending: gj.pending.length > 0 };
        if (loaded.pending) setTimeout(refresh, 2000);
        map.fire("overflight:boundaries", { count: gj.features.length, pending: gj.pending, errors });
      } catch (err) {
        // 503 "still loading" is worth another try; any other 503 is final and says why
        failed = err.status === 503 && !/still loading/.test(err.message);
        if (failed) problem("Map boundaries: " + err.message);
        else OF.notice("Map boundaries: " + err.message);
        if (!failed) setTimeout(refresh, 3000);
      } finally {
        busy = false;
        if (again) {
          again = false;
          refresh();
        }
      }
    }
    let timer = null;
    map.on("moveend", () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 200);
    });
    return { refresh, layer };
  }

  // -- aircraft ------------------------------------------------------------
  function classes(ac, selected) {
    const c = ["ac"];
    if (ac.isr_type || (ac.mission && ac.mission !== "none" && ac.mission !== "transit")) c.push("isr");
    else if (ac.military) c.push("military");
    if (ac.n_alerts > 0) c.push("alert");
    if (ac.onground) c.push("ground");
    if (selected) c.push("selected");
    return c.join(" ");
  }

  function iconHtml(ac, selected) {
    const fill = OF.color(ac.altitude, ac.onground);
    const rot = ac.track === null || ac.track === undefined ? 0 : ac.track;
    const label = (ac.callsign || ac.icao24).replace(/[<>&"]/g, "");
    return (
      `<div class="${classes(ac, selected)}" data-icao24="${ac.icao24}">` +
      `<span class="ring"></span>` +
      `<svg class="plane" viewBox="0 0 32 32" style="transform: rotate(${rot}deg)">` +
      `<path d="${PLANE}" fill="${fill}"/></svg>` +
      `<span class="label">${label}</span></div>`
    );
  }

  function aircraftMarker(ac, selected) {
    return L.marker([ac.latitude, ac.longitude], {
      icon: L.divIcon({ className: "ac-icon", html: iconHtml(ac, selected), iconSize: [32, 32] }),
      keyboard: false,
      riseOnHover: true,
    });
  }

  function updateMarker(marker, ac, selected) {
    marker.setLatLng([ac.latitude, ac.longitude]);
    const root = marker.getElement();
    const div = root && root.querySelector(".ac");
    if (!div) {
      marker.setIcon(L.divIcon({ className: "ac-icon", html: iconHtml(ac, selected), iconSize: [32, 32] }));
      return;
    }
    div.className = classes(ac, selected);
    const svg = div.querySelector("svg");
    svg.style.transform = `rotate(${ac.track === null || ac.track === undefined ? 0 : ac.track}deg)`;
    svg.querySelector("path").setAttribute("fill", OF.color(ac.altitude, ac.onground));
    div.querySelector(".label").textContent = ac.callsign || ac.icao24;
  }

  // -- tracks, drawn in runs of similar colour -------------------------------
  function trackLayer(points) {
    const group = L.layerGroup([], { pane: "tracks" });
    if (!points.length) return group;
    const latlngs = points.map((p) => [p.latitude, p.longitude]);
    group.addLayer(L.polyline(latlngs, { pane: "tracks", color: "#000", weight: 5, opacity: 0.55, interactive: false }));
    let run = [latlngs[0]];
    // colour in 250 ft steps: one polyline per run, not per segment
    const tone = (p) => OF.color(p.altitude === null ? null : Math.round(p.altitude / 250) * 250, p.onground);
    let col = tone(points[0]);
    for (let i = 1; i < points.length; i++) {
      const c = tone(points[i]);
      run.push(latlngs[i]);
      if (c !== col || i === points.length - 1) {
        group.addLayer(L.polyline(run, { pane: "tracks", color: col, weight: 2.5, opacity: 0.95, interactive: false }));
        run = [latlngs[i]];
        col = c;
      }
    }
    return group;
  }

  // -- legend ----------------------------------------------------------------
  function legend(map) {
    const ctl = L.control({ position: "bottomleft" });
    ctl.onAdd = () => {
      const stops = OF.scale().legend_ft;
      const div = L.DomUtil.create("div", "legend");
      const samples = [];
      for (let i = 0; i < stops.length - 1; i++) {
        for (let k = 0; k < 4; k++) {
          const alt = stops[i] + ((stops[i + 1] - stops[i]) * k) / 4;
          samples.push(OF.color(alt, false));
        }
      }
      samples.push(OF.color(stops[stops.length - 1], false));
      const ticks = stops
        .map((a) => `<span>${a === 0 ? "0" : a >= 1000 ? a / 1000 + "k" : a}</span>`)
        .join("");
      div.innerHTML =
        `<div class="legend-title">Altitude, ft</div>` +
        `<div class="legend-bar" style="background: linear-gradient(to right, ${samples.join(", ")})"></div>` +
        `<div class="legend-ticks">${ticks}</div>` +
        `<div class="legend-keys">` +
        `<span><i class="sw" style="background:${OF.color(null, true)}"></i>ground</span>` +
        `<span><i class="key-ring military"></i>military</span>` +
        `<span><i class="key-ring isr"></i>ISR / surveillance</span>` +
        `<span><i class="key-ring alert"></i>alert</span>` +
        `<span><i class="sw land"></i>land</span>` +
        `<span><i class="sw zone"></i>12 NM territorial sea</span>` +
        `</div>`;
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    ctl.addTo(map);
    return ctl;
  }

  return { makeMap, aircraftMarker, updateMarker, trackLayer, legend, iconHtml };
})();
