/* Inspector mobile form: works offline.
 *
 * Every change the inspector makes becomes an operation in a queue kept in localStorage
 * ({key, visit, action, body, baseVersion}). The queue is sent in order whenever the device is online;
 * each request carries its Idempotency-Key (a UUID made once, when the change was made), so a replay
 * after a lost answer creates nothing twice, and If-Match with the visit's row_version this device last
 * saw from the server, so an edit made on a version someone else changed meanwhile is refused (409) and
 * the conflict is shown; nothing is overwritten without the inspector choosing to.
 * Plain JavaScript, no library.
 */
(function () {
  "use strict";

  var QUEUE_KEY = "inspections.queue.v1";

  function uuid4() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function load(key, fallback) {
    try { var v = localStorage.getItem(key); return v ? JSON.parse(v) : fallback; } catch (e) { return fallback; }
  }
  function save(key, value) { localStorage.setItem(key, JSON.stringify(value)); }

  function csrfToken() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) { return decodeURIComponent(m[1]); }
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  // Service worker: keeps the inspector's pages and static files on the device.
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/inspector/sw.js", { scope: "/inspector/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      var urls = Array.prototype.map.call(document.querySelectorAll("[data-offline-url]"), function (el) {
        return el.getAttribute("data-offline-url");
      });
      urls.push(location.pathname);
      Array.prototype.forEach.call(document.querySelectorAll("link[rel=stylesheet], script[src]"), function (el) {
        urls.push(el.href || el.src);
      });
      if (reg.active) { reg.active.postMessage({ type: "cache", urls: urls }); }
    }).catch(function () { /* no service worker: the queue still works while the page stays open */ });
  }

  // Photos taken offline wait in IndexedDB (localStorage cannot hold images): {id, visit, filename, size,
  // caption, blob}. The id is the upload id the server will know the photo by, so a replayed start is harmless.
  function photoStore(mode) {
    return new Promise(function (resolve, reject) {
      var open = indexedDB.open("inspections-photos", 1);
      open.onupgradeneeded = function () { open.result.createObjectStore("photos", { keyPath: "id" }); };
      open.onsuccess = function () { resolve(open.result.transaction("photos", mode).objectStore("photos")); };
      open.onerror = function () { reject(open.error); };
    });
  }
  function idbRequest(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  function queuedPhotos() {
    if (!window.indexedDB) { return Promise.resolve([]); }
    return photoStore("readonly").then(function (store) { return idbRequest(store.getAll()); });
  }

  // Logging out empties this device (the server sends Clear-Site-Data): say so first if work is unsent.
  var logoutForm = document.querySelector("form[data-logout]");
  if (logoutForm) {
    logoutForm.addEventListener("submit", function (event) {
      event.preventDefault();
      queuedPhotos().catch(function () { return []; }).then(function (photos) {
        var changes = load(QUEUE_KEY, []).length;
        if ((changes || photos.length) && !window.confirm(changes + " change(s) and " + photos.length +
            " photo(s) are not sent yet. Logging out deletes them from this device. Log out anyway?")) {
          return;
        }
        logoutForm.submit();
      });
    });
  }

  var app = document.getElementById("visit-app");
  if (!app) { return; }

  var visitId = app.getAttribute("data-visit-id");
  var opBase = app.getAttribute("data-op-url");
  var STATE_KEY = "inspections.visit." + visitId;
  var DRAFT_KEY = "inspections.draft." + visitId;
  var embedded = JSON.parse(document.getElementById("visit-state").textContent);
  var stored = load(STATE_KEY, null);
  // A page served from the device's cache may be older than what this device last heard from the server.
  var server = stored && stored.row_version > embedded.row_version ? stored : embedded;
  save(STATE_KEY, server);
  var syncing = false;

  var statusEl = document.getElementById("sync-status");
  var conflictEl = document.getElementById("conflict");
  var errorsEl = document.getElementById("op-errors");

  function queue() { return load(QUEUE_KEY, []); }
  function setQueue(q) { save(QUEUE_KEY, q); }
  function mine(q) { return q.filter(function (op) { return op.visit === visitId; }); }

  function enqueue(action, body) {
    var q = queue();
    q.push({ key: uuid4(), visit: visitId, action: action, body: body, baseVersion: server.row_version,
             at: new Date().toISOString(), status: "pending" });
    setQueue(q);
    render();
    flush();
  }

  function showStatus() {
    var pending = mine(queue());
    var conflicts = pending.filter(function (op) { return op.status === "conflict"; }).length;
    statusEl.setAttribute("data-pending", String(pending.length));
    statusEl.setAttribute("data-online", navigator.onLine ? "1" : "0");
    statusEl.className = "sync " + (conflicts ? "sync-conflict" : pending.length ? "sync-pending" : "sync-ok");
    if (conflicts) {
      statusEl.textContent = "Conflict: a change was refused, see below.";
    } else if (pending.length) {
      statusEl.textContent = (navigator.onLine ? "Sending… " : "Offline — ") + pending.length +
        " change(s) kept on this device, sent when back online.";
    } else {
      statusEl.textContent = "All changes saved on the server (version " + server.row_version + ").";
    }
  }

  function effectiveState() {
    var state = server.state;
    mine(queue()).forEach(function (op) {
      if (op.action === "start") { state = "in_progress"; }
      if (op.action === "submit") { state = "submitted"; }
    });
    return state;
  }

  function renderFindings() {
    var list = document.getElementById("findings-list");
    list.innerHTML = "";
    server.findings.forEach(function (f) {
      var li = document.createElement("li");
      li.className = "finding finding-" + f.severity;
      li.textContent = f.severity.toUpperCase() + " — " + f.description;
      list.appendChild(li);
    });
    mine(queue()).forEach(function (op) {
      if (op.action !== "finding") { return; }
      var li = document.createElement("li");
      li.className = "finding pending";
      li.textContent = op.body.severity.toUpperCase() + " — " + op.body.description + " (not yet sent)";
      list.appendChild(li);
    });
  }

  function render() {
    var state = effectiveState();
    app.setAttribute("data-state", state);
    document.getElementById("visit-state-label").textContent = state.replace("_", " ");
    var editable = state === "in_progress";
    Array.prototype.forEach.call(app.querySelectorAll("[data-needs-progress]"), function (el) {
      el.disabled = !editable;
    });
    document.getElementById("start-visit").hidden = state !== "assigned";
    var signed = server.signed || mine(queue()).some(function (op) { return op.action === "signature"; });
    document.getElementById("signature-done").hidden = !signed;
    renderFindings();
    showStatus();
  }

  function showConflict(op, payload) {
    conflictEl.hidden = false;
    var cur = payload.current || {};
    document.getElementById("conflict-message").textContent = payload.message ||
      "This visit was changed elsewhere; your change was not saved.";
    document.getElementById("conflict-mine").textContent = op.action + ": " + JSON.stringify(op.body, null, 1) +
      "\n(edited on version " + op.baseVersion + ")";
    document.getElementById("conflict-theirs").textContent = "state: " + cur.state + ", version " + cur.row_version +
      "\nremarks: " + (cur.general_remarks || "") + "\nchecklist: " + JSON.stringify(cur.checklist || {}) +
      "\nfindings: " + (cur.findings || []).map(function (f) { return f.severity + " " + f.description; }).join("; ");
    conflictEl.setAttribute("data-op", op.key);
  }

  function resolveConflict(keep) {
    var key = conflictEl.getAttribute("data-op");
    var q = queue();
    q = q.filter(function (op) { return keep || op.key !== key; }).map(function (op) {
      if (op.key === key) { op.status = "pending"; op.baseVersion = server.row_version; }
      return op;
    });
    setQueue(q);
    conflictEl.hidden = true;
    render();
    flush();
  }

  function showErrors(op, errors) {
    errorsEl.hidden = false;
    var parts = [];
    Object.keys(errors || {}).forEach(function (k) { parts.push(k + ": " + [].concat(errors[k]).join(" ")); });
    errorsEl.textContent = "Not saved (" + op.action + "): " + parts.join("; ");
  }

  function flush() {
    if (syncing || !navigator.onLine) { showStatus(); return Promise.resolve(); }
    var pending = mine(queue());
    if (!pending.length || pending[0].status === "conflict") { showStatus(); return Promise.resolve(); }
    var op = pending[0];
    syncing = true;
    showStatus();
    // A submitted visit takes no more photos: the ones still on the device go first.
    var before = op.action === "submit" ? uploadPhotos() : Promise.resolve(0);
    return before.then(function (photosLeft) {
      if (photosLeft) { return "stop"; }
      return send(op);
    }).then(function (next) {
      syncing = false;
      render();
      if (next === "next") { return flush(); }
      if (!mine(queue()).length) { return uploadPhotos(); }
    });
  }

  function send(op) {
    return fetch(opBase + op.action + "/", {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "Content-Type": "application/json", "Idempotency-Key": op.key,
                 "If-Match": String(server.row_version), "X-CSRFToken": csrfToken() },
      body: JSON.stringify(op.body)
    }).then(function (response) {
      if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
        statusEl.textContent = "Your session has ended: log in again; your changes stay on this device.";
        return "stop";
      }
      if (response.status >= 500) { return "stop"; }
      return response.json().then(function (payload) {
        var q = queue();
        if (response.ok) {
          server = payload.visit;
          save(STATE_KEY, server);
          setQueue(q.filter(function (o) { return o.key !== op.key; }));
          errorsEl.hidden = true;
          return "next";
        }
        if (response.status === 409 && payload.error === "conflict") {
          server = payload.current;
          save(STATE_KEY, server);
          setQueue(q.map(function (o) { if (o.key === op.key) { o.status = "conflict"; } return o; }));
          showConflict(op, payload);
          return "stop";
        }
        // Refused for a reason a retry cannot fix: drop it, and say why.
        setQueue(q.filter(function (o) { return o.key !== op.key; }));
        showErrors(op, payload.errors);
        return "next";
      });
    }).catch(function () {
      return "stop";  // network down: keep everything, try again later
    });
  }

  // --- the form ------------------------------------------------------------------------------

  document.getElementById("start-visit").addEventListener("click", function () { enqueue("start", {}); });

  var checklistForm = document.getElementById("checklist-form");
  var draft = load(DRAFT_KEY, null);
  function fillChecklist(values, remarks) {
    Object.keys(values || {}).forEach(function (itemId) {
      var v = values[itemId];
      var radio = checklistForm.querySelector("input[name=result-" + itemId + "][value=" + v.result + "]");
      if (radio) { radio.checked = true; }
      var remark = checklistForm.querySelector("[name=remark-" + itemId + "]");
      if (remark && v.remark !== undefined) { remark.value = v.remark; }
    });
    if (remarks !== undefined && remarks !== null) { checklistForm.elements.general_remarks.value = remarks; }
  }
  fillChecklist(server.checklist, server.general_remarks);
  if (draft) { fillChecklist(draft.checklist, draft.general_remarks); }

  function readChecklist() {
    var results = [], values = {};
    Array.prototype.forEach.call(checklistForm.querySelectorAll("[data-item]"), function (row) {
      var id = row.getAttribute("data-item");
      var checked = row.querySelector("input[type=radio]:checked");
      var remark = row.querySelector("textarea").value;
      if (checked) {
        results.push({ item: Number(id), result: checked.value, remark: remark });
        values[id] = { result: checked.value, remark: remark };
      }
    });
    return { results: results, values: values, general_remarks: checklistForm.elements.general_remarks.value };
  }
  checklistForm.addEventListener("input", function () {
    var c = readChecklist();
    save(DRAFT_KEY, { checklist: c.values, general_remarks: c.general_remarks });
  });
  checklistForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var c = readChecklist();
    enqueue("checklist", { results: c.results, general_remarks: c.general_remarks });
    localStorage.removeItem(DRAFT_KEY);
  });

  var findingForm = document.getElementById("finding-form");
  findingForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var f = findingForm.elements;
    if (!f.description.value.trim()) { f.description.focus(); return; }
    enqueue("finding", { severity: f.severity.value, description: f.description.value,
                         checklist_item: f.checklist_item.value || null });
    findingForm.reset();
  });

  // Signature: draw on a canvas, sent as a PNG.
  var canvas = document.getElementById("signature-pad");
  var ctx = canvas.getContext("2d");
  var drawing = false, inked = false;
  ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.strokeStyle = "#111";
  function point(e) {
    var r = canvas.getBoundingClientRect();
    return { x: (e.clientX - r.left) * canvas.width / r.width, y: (e.clientY - r.top) * canvas.height / r.height };
  }
  canvas.addEventListener("pointerdown", function (e) {
    drawing = true; var p = point(e); ctx.beginPath(); ctx.moveTo(p.x, p.y); canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", function (e) {
    if (!drawing) { return; } var p = point(e); ctx.lineTo(p.x, p.y); ctx.stroke(); inked = true;
  });
  canvas.addEventListener("pointerup", function () { drawing = false; });
  document.getElementById("signature-clear").addEventListener("click", function () {
    ctx.clearRect(0, 0, canvas.width, canvas.height); inked = false;
  });
  document.getElementById("signature-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var name = this.elements.signer.value.trim();
    if (!name || !inked) { showErrors({ action: "signature" }, { signature: "Name and signature are both needed." }); return; }
    enqueue("signature", { name: name, png: canvas.toDataURL("image/png") });
  });

  document.getElementById("submit-visit").addEventListener("click", function () { enqueue("submit", {}); });

  document.getElementById("conflict-discard").addEventListener("click", function () { resolveConflict(false); });
  document.getElementById("conflict-reapply").addEventListener("click", function () { resolveConflict(true); });

  // Photos: kept on the device first, then sent in resumable chunks whenever the visit is in progress on the
  // server and the device is online (the server says how much it holds; we go on from there).
  var CHUNK = 256 * 1024;
  var photoForm = document.getElementById("photo-form");
  var photoStatus = document.getElementById("photo-status");
  var uploading = null;

  function photosOfThisVisit() {
    return queuedPhotos().then(function (all) { return all.filter(function (p) { return p.visit === visitId; }); });
  }
  function forgetPhoto(id) {
    return photoStore("readwrite").then(function (store) { return idbRequest(store.delete(id)); });
  }
  function showPhotos(waiting, message) {
    photoStatus.setAttribute("data-pending-photos", String(waiting));
    photoStatus.textContent = message || (waiting ? waiting + " photo(s) kept on this device, sent when online."
                                                  : photoStatus.textContent);
  }

  function sendChunks(url, blob, offset) {
    if (offset >= blob.size) { return Promise.resolve(); }
    return fetch(url, { method: "POST", credentials: "same-origin",
                        headers: { "Upload-Offset": String(offset), "X-CSRFToken": csrfToken(),
                                   "Content-Type": "application/octet-stream" },
                        body: blob.slice(offset, offset + CHUNK) })
      .then(function (r) { return r.json().then(function (p) { return { r: r, p: p }; }); })
      .then(function (x) {
        if (x.r.status === 409) { return sendChunks(url, blob, x.p.received); }
        if (!x.r.ok) { var refused = new Error(JSON.stringify(x.p.errors || x.p)); refused.refused = true; throw refused; }
        photoStatus.textContent = "Uploaded " + x.p.received + " / " + x.p.size + " bytes";
        return sendChunks(url, blob, x.p.received);
      });
  }

  function uploadPhoto(photo) {
    return fetch(app.getAttribute("data-photo-url"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ upload_id: photo.id, filename: photo.filename, size: photo.size, caption: photo.caption })
    }).then(function (r) {
      return r.json().then(function (p) {
        if (!r.ok) { var refused = new Error(JSON.stringify(p.errors || p)); refused.refused = true; throw refused; }
        return sendChunks(app.getAttribute("data-photo-url") + photo.id + "/", photo.blob, p.received);
      });
    });
  }

  // Resolves to the number of this visit's photos still on the device.
  function uploadPhotos() {
    if (uploading) { return uploading; }
    uploading = photosOfThisVisit().then(function (photos) {
      if (!photos.length || !navigator.onLine || server.state !== "in_progress") {
        return { left: photos.length, done: false };
      }
      var photo = photos[0];
      return uploadPhoto(photo).then(function () {
        return forgetPhoto(photo.id).then(function () {
          photoStatus.textContent = "Photo " + photo.filename + " saved.";
          return { left: photos.length - 1, done: true };
        });
      }, function (error) {
        if (!error.refused) { return { left: photos.length, done: false }; }  // network: keep it, try later
        return forgetPhoto(photo.id).then(function () {
          photoStatus.textContent = "Photo " + photo.filename + " refused: " + error.message;
          return { left: photos.length - 1, done: true };
        });
      });
    }).catch(function () { return { left: 0, done: false }; }).then(function (result) {
      uploading = null;
      showPhotos(result.left);
      return result.left && result.done ? uploadPhotos() : result.left;
    });
    return uploading;
  }

  photoForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = photoForm.elements.photo.files[0];
    if (!file) { return; }
    var caption = photoForm.elements.caption.value;
    // Keep a copy of the bytes, not a reference to a file the phone may move or delete.
    file.arrayBuffer().then(function (bytes) {
      var photo = { id: uuid4(), visit: visitId, filename: file.name, size: file.size, caption: caption,
                    blob: new Blob([bytes], { type: file.type }), at: new Date().toISOString() };
      return photoStore("readwrite").then(function (store) { return idbRequest(store.put(photo)); });
    }).then(function () {
      photoForm.reset();
      return photosOfThisVisit();
    }).then(function (photos) {
      showPhotos(photos.length);
      uploadPhotos();
    }).catch(function (error) {
      photoStatus.textContent = "This device could not keep the photo: " + error;
    });
  });

  window.addEventListener("online", function () { flush(); uploadPhotos(); });
  window.addEventListener("offline", showStatus);
  setInterval(function () { if (navigator.onLine) { flush(); uploadPhotos(); } }, 15000);
  window.inspectionsSync = { flush: flush, queue: queue, uploadPhotos: uploadPhotos };
  render();
  flush();
  uploadPhotos();
})();
