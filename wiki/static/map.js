/* Maps, drawn with Leaflet over pages that already work without them.
 *
 * /map: the points come from <script type="application/json" id="map-data">
 * (never from a script the server wrote); each marker is a focusable button
 * named by its page's title, whose popup links to the page. The same places
 * are listed as plain links under the map.
 * A fiche: <div class="fiche-map" data-latitude data-longitude data-title>
 * shows where it is, with its settings in #fiche-map-settings.
 * Titles and credits become text nodes, never HTML. Tiles come from the
 * map.tiles_url setting; when none load (offline, blocked) the markers are
 * drawn on the plain background all the same: they need no image.
 */
(function () {
  "use strict";

  function readJSON(id) {
    var element = document.getElementById(id);
    if (!element) { return null; }
    try { return JSON.parse(element.textContent); } catch (error) { return null; }
  }

  function credits(settings) {
    var Credits = L.Control.extend({
      options: { position: "bottomright" },
      onAdd: function () {
        var box = L.DomUtil.create("div", "leaflet-control map-credits");
        box.setAttribute("role", "note");
        box.setAttribute("aria-label", settings.labels.credits);
        (settings.attribution || []).forEach(function (part) {
          var node;
          if (part.href) {
            node = document.createElement("a");
            node.href = part.href;
            node.rel = "noopener";
            node.textContent = part.text;
          } else {
            node = document.createTextNode(part.text);
          }
          box.appendChild(node);
        });
        return box;
      }
    });
    return new Credits();
  }

  function newMap(container, settings, options) {
    container.hidden = false;
    var map = L.map(container, Object.assign({ attributionControl: false, zoomControl: false }, options || {}));
    L.control.zoom({ zoomInTitle: settings.labels.zoomIn, zoomOutTitle: settings.labels.zoomOut }).addTo(map);
    if (settings.tiles) {
      L.tileLayer(settings.tiles, { maxZoom: 19, crossOrigin: false }).addTo(map);
      if (settings.attribution && settings.attribution.length) { credits(settings).addTo(map); }
    }
    map.on("popupopen", function (event) {
      var close = event.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close) {
        close.setAttribute("aria-label", settings.labels.close);
        close.title = settings.labels.close;
      }
    });
    return map;
  }

  function marker(latitude, longitude, title) {
    var icon = L.divIcon({ className: "map-marker", iconSize: [18, 18] });
    var placed = L.marker([latitude, longitude], { icon: icon, title: title, keyboard: true, riseOnHover: true });
    placed.on("add", function () {
      var element = placed.getElement();
      if (element) { element.setAttribute("aria-label", title); }
    });
    return placed;
  }

  function popup(title, href) {
    var content = document.createElement("p");
    var link = document.createElement("a");
    link.href = href;
    link.textContent = title;
    content.appendChild(link);
    return content;
  }

  function placesMap() {
    var container = document.getElementById("places-map");
    var data = readJSON("map-data");
    if (!container || !data || !window.L) { return; }
    var map = newMap(container, data.settings);
    var bounds = [];
    var layer = L.layerGroup();
    data.points.forEach(function (point) {
      var latitude = point[0], longitude = point[1], title = point[2], href = point[3];
      if (typeof latitude !== "number" || typeof longitude !== "number") { return; }
      marker(latitude, longitude, title).bindPopup(popup(title, href)).addTo(layer);
      bounds.push([latitude, longitude]);
    });
    layer.addTo(map);
    if (bounds.length === 1) {
      map.setView(bounds[0], 13);
    } else if (bounds.length > 1) {
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: 13 });
    } else {
      map.setView([46.6, 2.4], 5);
    }
  }

  function ficheMaps() {
    var settings = readJSON("fiche-map-settings");
    if (!settings || !window.L) { return; }
    Array.prototype.forEach.call(document.querySelectorAll(".fiche-map"), function (container) {
      var latitude = parseFloat(container.getAttribute("data-latitude"));
      var longitude = parseFloat(container.getAttribute("data-longitude"));
      if (!isFinite(latitude) || !isFinite(longitude)) { return; }
      var map = newMap(container, settings, { scrollWheelZoom: false, dragging: !L.Browser.mobile, tap: false });
      marker(latitude, longitude, container.getAttribute("data-title") || "").addTo(map);
      map.setView([latitude, longitude], 14);
    });
  }

  function start() {
    placesMap();
    ficheMaps();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
