/* Field pages offline helper (visits part). No framework, no build step.
 *
 * What it does, and only this:
 * 1. Position: a form marked `data-geo` gets the phone's position (Geolocation API: latitude,
 *    longitude, accuracy in metres) and the device time put in its hidden fields before it is
 *    sent. Without a position it is not sent; the page says why.
 * 2. Queue: a form marked `data-offline` is sent with fetch() and the header `Idempotency-Key`
 *    (the form's hidden `idempotency_key`, made by the server when the page was drawn). When
 *    the network fails, the form's fields (photos included) are kept in IndexedDB (or, without
 *    IndexedDB, in localStorage, text fields only) and sent again, with the same key, when the
 *    phone is back online or the next field page opens. The server does the work of a key
 *    once, so a retry never makes a second check-in, step or photo. A queued request that the
 *    server refuses (4xx) is dropped from the queue and listed on the page; a 5xx stays queued.
 * 3. Reading offline: the service worker `/field/sw.js` (see that file) keeps a copy of the
 *    field pages opened, and this script asks it to keep today's visits and outlet cards too.
 *    Logging out from a field page drops those copies.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var cfg = script ? script.dataset : {};
  var DB = "jinggeng-field";
  var STORE = "queue";
  var LS_KEY = "jinggeng-field-queue";

  function box() { return document.getElementById("fv-offline"); }
  function say(text) {
    var el = box();
    if (!el) { return; }
    el.textContent = text;
    el.classList.toggle("show", !!text);
  }

  // ------------------------------------------------------------------ storage

  function openDb() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no indexedDB")); return; }
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "key" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var result = work(t.objectStore(STORE));
        t.oncomplete = function () { resolve(result && result.result !== undefined ? result.result : result); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function lsAll() {
    try { return JSON.parse(localStorage.getItem(LS_KEY) || "[]"); } catch (e) { return []; }
  }
  function lsSave(items) { localStorage.setItem(LS_KEY, JSON.stringify(items)); }

  function queueAdd(item) {
    return tx("readwrite", function (s) { return s.put(item); }).catch(function () {
      var items = lsAll().filter(function (i) { return i.key !== item.key; });
      item.fields = item.fields.filter(function (f) { return typeof f[1] === "string"; });
      items.push(item);
      lsSave(items);
    });
  }
  function queueAll() {  // IndexedDB items plus any kept in localStorage when IndexedDB failed
    return tx("readonly", function (s) { return s.getAll(); })
      .catch(function () { return []; })
      .then(function (items) { return (items || []).concat(lsAll()); });
  }
  function queueDrop(key) {
    lsSave(lsAll().filter(function (i) { return i.key !== key; }));
    return tx("readwrite", function (s) { return s.delete(key); }).catch(function () {});
  }

  // ------------------------------------------------------------------ sending

  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) { return decodeURIComponent(m[1]); }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function send(item) {
    var body = new FormData();
    item.fields.forEach(function (f) {
      if (f.length > 2) { body.append(f[0], f[1], f[2]); } else { body.append(f[0], f[1]); }
    });
    body.set("csrfmiddlewaretoken", csrf());
    return fetch(item.url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Idempotency-Key": item.key, "X-CSRFToken": csrf(), "X-Field-Fetch": "1" }
    });
  }
  function fieldsOf(form) {
    var out = [];
    new FormData(form).forEach(function (value, name) {
      if (value instanceof File) {
        if (value.size) { out.push([name, value, value.name]); }
      } else {
        out.push([name, String(value)]);
      }
    });
    return out;
  }

  function loggedOut(response) {
    // The session ended while the phone was offline: keep the request and ask to log in.
    return response.redirected && new URL(response.url).pathname.indexOf("/field/") !== 0;
  }
  function showAnswer(response) {
    if (response.redirected) { window.location.assign(response.url); return Promise.resolve(); }
    return response.text().then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var main = doc.querySelector("main.content");
      var here = document.querySelector("main.content");
      if (main && here) { here.innerHTML = main.innerHTML; window.scrollTo(0, 0); }
      else { window.location.reload(); }
    });
  }

  function submitQueued(form) {
    var key = (form.querySelector("input[name=idempotency_key]") || {}).value || String(Date.now()) + Math.random();
    var submit = form.querySelector("[type=submit]");
    var item = { key: key, url: form.action, fields: fieldsOf(form), at: new Date().toISOString(),
      label: form.dataset.label || (submit ? submit.textContent.trim() : "") };
    var button = form.querySelector("[type=submit]");
    if (button) { button.disabled = true; }
    return send(item).then(showAnswer, function () {
      return queueAdd(item).then(function () {
        showPending((box() && box().dataset.queued) || "Saved offline; will retry.");
      });
    }).finally(function () { if (button) { button.disabled = false; } });
  }

  var flushing = false;
  function flush() {
    if (flushing || !navigator.onLine) { return Promise.resolve(); }
    flushing = true;
    return queueAll().then(function (items) {
      return items.reduce(function (chain, item) {
        return chain.then(function () {
          return send(item).then(function (response) {
            if (response.status >= 500 || loggedOut(response)) { return; }
            if (response.status >= 400) { remember(item, response.status); }
            return queueDrop(item.key);
          }, function () { /* still offline: keep it */ });
        });
      }, Promise.resolve());
    }).finally(function () { flushing = false; say(""); showPending(); });
  }
  function remember(item, status) {
    var failed = JSON.parse(sessionStorage.getItem(LS_KEY + "-failed") || "[]");
    failed.push({ label: item.label, url: item.url, status: status });
    sessionStorage.setItem(LS_KEY + "-failed", JSON.stringify(failed));
  }
  function showPending(first) {
    var el = box();
    if (!el) { return; }
    queueAll().then(function (items) {
      var failed = JSON.parse(sessionStorage.getItem(LS_KEY + "-failed") || "[]");
      var parts = first ? [first] : [];
      if (items.length) {
        parts.push((el.dataset.pending || "Pending: ") + items.map(function (i) { return i.label; }).join("、"));
      }
      if (failed.length) {
        parts.push((el.dataset.failed || "Refused: ") + failed.map(function (i) { return i.label + " (" + i.status + ")"; }).join("、"));
      }
      if (parts.length) { say(parts.join(" ")); }
    });
  }

  // ------------------------------------------------------------------ position

  function locate(form) {
    return new Promise(function (resolve, reject) {
      if (!navigator.geolocation) { reject(new Error("no geolocation")); return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        form.elements.latitude.value = pos.coords.latitude.toFixed(6);
        form.elements.longitude.value = pos.coords.longitude.toFixed(6);
        form.elements.accuracy_m.value = Math.round(pos.coords.accuracy * 10) / 10;
        resolve();
      }, reject, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && /\/logout\/?$/.test(new URL(form.action, location.href).pathname)
        && window.caches) {
      // Logging out of a field page: drop the pages kept for reading offline, then log out.
      event.preventDefault();
      caches.keys().then(function (names) {
        return Promise.all(names.filter(function (n) { return n.indexOf("jinggeng-field-") === 0; })
          .map(function (n) { return caches.delete(n); }));
      }).catch(function () {}).then(function () { form.submit(); });
      return;
    }
    if (!(form instanceof HTMLFormElement) || (!form.hasAttribute("data-offline") && !form.hasAttribute("data-geo"))) {
      return;
    }
    event.preventDefault();
    var now = new Date().toISOString();
    if (form.elements.device_at) { form.elements.device_at.value = now; }
    form.querySelectorAll("input[data-now]").forEach(function (i) { i.value = now; });
    var ready = form.hasAttribute("data-geo") ? (say(cfg.locating || ""), locate(form)) : Promise.resolve();
    ready.then(function () {
      say("");
      if (form.hasAttribute("data-offline") && window.fetch && window.FormData) { return submitQueued(form); }
      form.submit();
    }, function () { say(cfg.geoError || "Location unavailable"); });
  });

  window.addEventListener("online", flush);

  // ------------------------------------------------------------------ service worker

  if ("serviceWorker" in navigator && cfg.sw) {
    navigator.serviceWorker.register(cfg.sw, { scope: "/field/" }).then(function (reg) {
      var urls = document.getElementById("fv-urls");
      var list = urls ? JSON.parse(urls.textContent) : [];
      var worker = reg.active || reg.waiting || reg.installing;
      if (worker && list.length) { worker.postMessage({ type: "cache", urls: list }); }
    }).catch(function () {});
  }
  flush();
  showPending();
})();
