/* overflight report: draws the map from the embedded JSON and sorts the flights table.
   Every piece of data reaches the page through textContent, never as HTML. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("overflight-data").textContent);
  var KIND_LABELS = {
    orbit: "Orbit", racetrack: "Racetrack", grid: "Survey grid", loiter: "Loiter",
    airspace_entry: "Airspace entry"
  };
  var PATTERN = "#00897b", REACH = "#4a6fa5", ENTRY = "#c62828";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function popup(title, rows) {
    var box = el("div", "popup");
    box.appendChild(el("h4", null, title));
    var table = el("table");
    (rows || []).forEach(function (r) {
      var tr = el("tr");
      tr.appendChild(el("td", null, r[0]));
      tr.appendChild(el("td", null, r[1]));
      table.appendChild(tr);
    });
    box.appendChild(table);
    return box;
  }

  var map = L.map("map", { attributionControl: false, zoomSnap: 0.25, zoomControl: true });
  map.createPane("boundaries");
  map.getPane("boundaries").style.zIndex = 350;

  function boundaryStyle(feature) {
    var p = feature.properties;
    if (p.zone === "territorial_sea") {
      return { color: "#8fb0cc", weight: 0.6, fillColor: p.focus ? "#b9d0e6" : "#cadcec", fillOpacity: 1 };
    }
    return {
      color: p.focus ? "#7d6b4a" : "#a99d86", weight: p.focus ? 1.4 : 0.8,
      fillColor: p.focus ? "#efe0bd" : "#f6f2e8", fillOpacity: 1
    };
  }
  map.createPane("labels");
  map.getPane("labels").style.zIndex = 360;
  map.getPane("labels").style.pointerEvents = "none";
  var boundaries = L.layerGroup([
    L.geoJSON(data.boundaries, { pane: "boundaries", interactive: false, style: boundaryStyle })
  ]).addTo(map);
  data.countryLabels.forEach(function (c) {
    var text = el("span", c.focus ? "focus" : null, c.t);
    L.marker(c.at, {
      pane: "labels", interactive: false, keyboard: false,
      icon: L.divIcon({ className: "country-label", html: text, iconSize: null })
    }).addTo(boundaries);
  });

  var tracks = L.featureGroup().addTo(map);
  var byId = {};
  data.flights.forEach(function (f) {
    var group = L.featureGroup();
    f.segments.forEach(function (s) {
      L.polyline(s.p, {
        color: data.colors[s.k] || "#8a8f98", weight: 2.4, opacity: 0.92, lineJoin: "round"
      }).addTo(group);
    });
    group.bindPopup(function () { return popup(f.label, f.info); });
    group.on("mouseover", function () { group.setStyle({ weight: 4.5 }); });
    group.on("mouseout", function () { group.setStyle({ weight: 2.4 }); });
    group.addTo(tracks);
    byId[f.id] = group;
  });

  var patterns = L.featureGroup().addTo(map);
  data.patterns.forEach(function (p) {
    var style = { color: PATTERN, weight: 2, dashArray: "6 4", fillColor: PATTERN, fillOpacity: 0.08 };
    var layer = null;
    if (p.radius_m && p.at) {
      layer = L.circle(p.at, Object.assign({ radius: p.radius_m }, style));
    } else if (p.polygon) {
      layer = L.polygon(p.polygon, style);
    } else if (p.at) {
      layer = L.circleMarker(p.at, { radius: 6, color: PATTERN, weight: 2, fillColor: "#fff", fillOpacity: 1 });
    }
    if (layer) {
      layer.bindPopup(popup(KIND_LABELS[p.kind] || String(p.kind), p.info));
      layer.addTo(patterns);
    }
  });

  var markers = L.featureGroup().addTo(map);
  data.entries.forEach(function (e) {
    var title = "Entered " + (e.country || "national") + " airspace";
    if (e.at) {
      L.circleMarker(e.at, { radius: 6.5, color: "#fff", weight: 2, fillColor: ENTRY, fillOpacity: 1 })
        .bindPopup(popup(title, e.info)).addTo(markers);
    }
    if (e.exit) {
      L.circleMarker(e.exit, { radius: 6, color: ENTRY, weight: 2.5, fillColor: "#fff", fillOpacity: 1 })
        .bindPopup(popup("Left airspace", e.info)).addTo(markers);
    }
  });

  var reach = L.geoJSON(data.reach, {
    style: { color: REACH, weight: 1.5, dashArray: "2 5", fillColor: REACH, fillOpacity: 0.06 },
    onEachFeature: function (feature, layer) {
      layer.bindPopup(popup("Observation reach", feature.properties.info));
    }
  }).addTo(map);
  reach.bringToBack();

  L.control.layers(null, {
    "Land and territorial sea": boundaries,
    "Tracks": tracks,
    "Surveillance patterns": patterns,
    "Entries and exits": markers,
    "Observation reach": reach
  }, { collapsed: false, position: "topright" }).addTo(map);
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);

  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var box = el("div", "legend");
    function row(cls, color, text) {
      var r = el("div", "row");
      var sw = el("span", "sw " + cls);
      sw.style.borderColor = color;
      r.appendChild(sw);
      r.appendChild(el("span", null, text));
      box.appendChild(r);
      return sw;
    }
    box.appendChild(el("h4", null, data.colorBy === "zone" ? "Track: airspace" : "Track: altitude"));
    Object.keys(data.colors).forEach(function (k) { row("", data.colors[k], data.labels[k] || k); });
    if (data.entries.length || data.patterns.length || data.reach.length || data.boundaries.length) {
      box.appendChild(el("div", "sep"));
      box.appendChild(el("h4", null, "Symbols"));
    }
    if (data.entries.length) {
      row("pt", "#fff", "Entry into national airspace").style.background = ENTRY;
      row("pt", ENTRY, "Exit").style.background = "#fff";
    }
    if (data.patterns.length) { row("dash", PATTERN, "Orbit / pattern area"); }
    if (data.reach.length) { row("dot", REACH, "Observation reach"); }
    if (data.boundaries.length) {
      row("area", "#7d6b4a", (data.focus ? data.focus + " land" : "Land")).style.background = "#efe0bd";
      row("area", "#8fb0cc", "Territorial sea (12 NM)").style.background = "#cadcec";
    }
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  legend.addTo(map);

  function fit(bounds) { map.fitBounds(bounds, { padding: [24, 24], maxZoom: 11 }); }
  fit(data.focusBounds || data.bounds);
  if (data.focusBounds) {
    var views = L.control({ position: "topleft" });
    views.onAdd = function () {
      var box = el("div", "leaflet-bar views");
      [["Entries into " + data.focus, data.focusBounds], ["All flights", data.bounds]].forEach(function (v) {
        var btn = el("a", null, v[0]);
        btn.href = "#";
        btn.setAttribute("role", "button");
        L.DomEvent.on(btn, "click", function (ev) { L.DomEvent.preventDefault(ev); fit(v[1]); });
        box.appendChild(btn);
      });
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    views.addTo(map);
  }

  // Flights table: sort by clicking a header; click a flight to show it on the map.
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, i) {
      th.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        var numeric = th.getAttribute("data-type") === "num";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        // a missing value ("–", or no number) sorts last whichever way the column is sorted
        function key(row) {
          var cell = row.cells[i];
          var v = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
          v = v.trim();
          if (v === "" || v === "\u2013") { return null; }
          if (!numeric) { return v.toLowerCase(); }
          var n = parseFloat(v);
          return isNaN(n) ? null : n;
        }
        rows.sort(function (x, y) {
          var a = key(x), c = key(y);
          if (a === null || c === null) { return (a === null) - (c === null); }
          return (a < c ? -1 : a > c ? 1 : 0) * dir;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-flight] .flight-link"), function (btn) {
    btn.addEventListener("click", function () {
      var id = btn.closest("[data-flight]").getAttribute("data-flight");
      var group = byId[id];
      if (!group) { return; }
      document.getElementById("map").scrollIntoView({ behavior: "smooth", block: "center" });
      map.fitBounds(group.getBounds(), { padding: [30, 30], maxZoom: 11 });
      group.openPopup(group.getBounds().getCenter());
    });
  });
})();
