// The account map: clustered markers coloured by type or grade. Works without tiles:
// the markers are drawn on a plain background when the tile server cannot be reached.
(function () {
  const el = document.getElementById("map");
  if (!el || !window.L) return;
  const colours = {
    type: { distributor: "#c53030", wholesaler: "#dd6b20", outlet: "#2b6cb0", key_account: "#6b46c1", enterprise: "#2f855a" },
    grade: { A: "#2f855a", B: "#d69e2e", C: "#718096" },
  };
  const labelsEl = document.getElementById("legend-labels");
  const labels = labelsEl ? JSON.parse(labelsEl.textContent) : { type: {}, grade: {} };
  const map = L.map(el, { preferCanvas: true }).setView([34.5, 108.9], 5);
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, {
      subdomains: el.dataset.subdomains || "abc", attribution: el.dataset.attribution || "", maxZoom: 18,
    }).addTo(map);
  }
  const status = document.getElementById("map-status");
  const select = document.getElementById("colour-by");
  const cluster = L.markerClusterGroup({ chunkedLoading: true });
  map.addLayer(cluster);
  let points = [];
  function draw() {
    const by = select.value;
    cluster.clearLayers();
    const markers = points.map(function (p) {
      const colour = colours[by][by === "type" ? p.type : p.grade] || "#4a5568";
      const m = L.circleMarker([p.lat, p.lng], { radius: 7, color: "#fff", weight: 1, fillColor: colour, fillOpacity: 0.9 });
      const link = document.createElement("a");
      link.href = el.dataset.detail.replace("/0/", "/" + p.id + "/");
      link.textContent = p.name + " (" + p.grade + ")";
      m.bindPopup(link);
      return m;
    });
    cluster.addLayers(markers);
    const legend = document.getElementById("legend");
    legend.textContent = "";
    Object.entries(colours[by]).forEach(function ([key, colour]) {
      const span = document.createElement("span");
      span.className = "badge";
      span.style.borderColor = colour;
      span.style.color = colour;
      span.textContent = (labels[by] && labels[by][key]) || key;
      legend.appendChild(span);
      legend.appendChild(document.createTextNode(" "));
    });
  }
  status.textContent = el.dataset.loading;
  fetch(el.dataset.points, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (data) {
      points = data;
      status.textContent = points.length + " " + el.dataset.count + (points.length > 20000 ? " " + el.dataset.cut : "");
      draw();
      if (points.length) map.fitBounds(L.latLngBounds(points.map(function (p) { return [p.lat, p.lng]; })), { maxZoom: 13 });
    })
    .catch(function () { status.textContent = el.dataset.failed; });
  select.addEventListener("change", draw);
})();
