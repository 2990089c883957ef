// The route map (线路图): each layer is a day or a route — its outlets in visiting order as
// numbered stops joined by the path (start → 1 → 2 → … → start). A stop's popup links to the
// customer card. Works without tiles: the stops and paths are drawn on a plain background.
(function () {
  const el = document.getElementById("route-map");
  const dataEl = document.getElementById("route-map-data");
  if (!el || !dataEl || !window.L) return;
  const data = JSON.parse(dataEl.textContent);
  const map = L.map(el, { preferCanvas: false }).setView([31.23, 121.47], 11);
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, {
      subdomains: el.dataset.subdomains || "abc", attribution: el.dataset.attribution || "", maxZoom: 18,
    }).addTo(map);
  }
  function stopIcon(number, colour, dashed) {
    const border = dashed ? "2px dashed #fff" : "2px solid #fff";
    return L.divIcon({
      className: "route-stop",
      html: '<span style="display:flex;align-items:center;justify-content:center;width:24px;height:24px;' +
        "border-radius:50%;background:" + colour + ";color:#fff;font:bold 12px/1 sans-serif;border:" + border +
        ';box-shadow:0 0 2px rgba(0,0,0,.5)">' + number + "</span>",
      iconSize: [24, 24],
      iconAnchor: [12, 12],
    });
  }
  function popup(p) {
    const box = document.createElement("div");
    const title = document.createElement("strong");
    title.textContent = p.number + ". " + p.name;
    box.appendChild(title);
    box.appendChild(document.createElement("br"));
    const link = document.createElement("a");
    link.href = data.card.replace("/0/", "/" + p.account_id + "/");
    link.textContent = el.dataset.cardLabel || "→";
    box.appendChild(link);
    return box;
  }
  const overlays = {};
  const bounds = [];
  (data.layers || []).forEach(function (layer) {
    const group = L.featureGroup();
    const path = [];
    if (layer.start) path.push([layer.start.lat, layer.start.lng]);
    layer.points.forEach(function (p) { path.push([p.lat, p.lng]); });
    if (layer.start && layer.points.length) path.push([layer.start.lat, layer.start.lng]);
    if (path.length > 1) {
      L.polyline(path, { color: layer.colour, weight: 3, opacity: 0.8, dashArray: layer.dashed ? "6 6" : null }).addTo(group);
    }
    if (layer.start) {
      L.circleMarker([layer.start.lat, layer.start.lng], { radius: 6, color: "#1a202c", fillColor: "#fff", fillOpacity: 1, weight: 2 })
        .bindTooltip(el.dataset.startLabel || "").addTo(group);
    }
    layer.points.forEach(function (p) {
      L.marker([p.lat, p.lng], { icon: stopIcon(p.number, layer.colour, layer.dashed), title: p.number + ". " + p.name })
        .bindPopup(popup(p)).addTo(group);
      bounds.push([p.lat, p.lng]);
    });
    overlays[layer.name] = group;
    if (layer.show) group.addTo(map);
  });
  if (Object.keys(overlays).length > 1) L.control.layers(null, overlays, { collapsed: window.innerWidth < 640 }).addTo(map);
  if (bounds.length) map.fitBounds(L.latLngBounds(bounds), { maxZoom: 15, padding: [20, 20] });
})();
