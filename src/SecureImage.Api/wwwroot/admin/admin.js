// SecureImage retention dashboard: reads /admin/api/* and refreshes the figures every few seconds.
// No framework, no build step; text is always set with textContent (never parsed as HTML).
"use strict";
(function () {
  var REFRESH_MS = 3000;
  var SVG = "http://www.w3.org/2000/svg";
  var csrf = { token: "", header: "X-CSRF-Token" };
  var auditBefore = null;

  function $(id) { return document.getElementById(id); }

  function api(path, options) {
    return fetch("/admin/api/" + path, Object.assign({ credentials: "same-origin", headers: { Accept: "application/json" } }, options || {}))
      .then(function (response) {
        if (response.status === 401) { window.location.assign("/admin/sign-in"); throw new Error("signed out"); }
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) { var e = new Error(body.detail || ("HTTP " + response.status)); e.status = response.status; throw e; }
          return body;
        });
      });
  }

  function text(el, value) { el.textContent = value == null ? "" : String(value); return el; }
  function cell(row, value, cls) { var td = document.createElement("td"); if (cls) td.className = cls; text(td, value); row.appendChild(td); return td; }
  function fmtTime(iso) { return iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace(/(\+00:00|Z)$/, "") : ""; }
  function fmtNumber(n) { return Number(n).toLocaleString("en-US"); }
  function fmtBytes(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  }
  function fmtDuration(seconds) {
    if (seconds < 60) return seconds.toFixed(seconds < 10 ? 1 : 0) + " s";
    if (seconds < 3600) return (seconds / 60).toFixed(1) + " min";
    return (seconds / 3600).toFixed(1) + " h";
  }
  function clear(tbody) { while (tbody.firstChild) tbody.removeChild(tbody.firstChild); }

  function loadSession() {
    return api("session").then(function (s) {
      csrf.token = s.csrfToken; csrf.header = s.csrfHeader;
      text($("admin-user"), s.user);
      text($("admin-role"), s.role);
      $("sign-out-token").name = s.csrfField;
      $("sign-out-token").value = s.csrfToken;
    });
  }

  function loadOverview() {
    return api("overview").then(function (o) {
      text($("stored-count"), fmtNumber(o.imagesStored));
      text($("stored-bytes"), fmtBytes(o.bytesStored));
      $("stored-bytes").title = fmtNumber(o.bytesStored) + " bytes";
      text($("expiring-hour"), fmtNumber(o.expiringWithinHour));
      text($("expiring-day"), fmtNumber(o.expiringWithinDay));
      text($("held-count"), fmtNumber(o.held));
      text($("blocked-count"), fmtNumber(o.blocked));
      text($("overdue-count"), fmtNumber(o.overdue));
      $("overdue-card").classList.toggle("alert", o.overdue > 0);
      text($("sweep-lag"), fmtDuration(o.sweepLagSeconds));
      text($("sweep-note"), (o.sweepLagHigh ? "above two sweep intervals (" : "sweep interval ") + fmtDuration(o.sweepIntervalSeconds) + (o.sweepLagHigh ? " each)" : "") +
        (o.lastSweepAt ? "; last sweep " + fmtTime(o.lastSweepAt) : ""));
      $("lag-card").classList.toggle("alert", o.sweepLagHigh);
      var tbody = $("by-bot").tBodies[0]; clear(tbody);
      o.byBot.forEach(function (b) { var tr = tbody.insertRow(); cell(tr, b.botId); cell(tr, fmtNumber(b.images), "num"); cell(tr, fmtBytes(b.bytes), "num"); });
      if (o.byBot.length === 0) { var tr = tbody.insertRow(); cell(tr, "No images stored.").colSpan = 3; }
    });
  }

  function drawBars(container, buckets, value, bucketKind) {
    var width = 300, height = 120, top = 14, bottom = 16;
    var values = buckets.map(value), max = Math.max.apply(null, values.concat([1])), total = values.reduce(function (a, b) { return a + b; }, 0);
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("role", "img");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-label", total + " in " + buckets.length + " " + bucketKind + "s; highest " + max + " per " + bucketKind);
    var step = width / Math.max(buckets.length, 1);
    values.forEach(function (v, i) {
      if (v <= 0) return;
      var h = (height - top - bottom) * v / max;
      var rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("class", "bar");
      rect.setAttribute("x", (i * step + step * 0.1).toFixed(2));
      rect.setAttribute("y", (height - bottom - h).toFixed(2));
      rect.setAttribute("width", (step * 0.8).toFixed(2));
      rect.setAttribute("height", h.toFixed(2));
      var title = document.createElementNS(SVG, "title");
      title.textContent = fmtTime(buckets[i].start) + ": " + v;
      rect.appendChild(title);
      svg.appendChild(rect);
    });
    var axis = document.createElementNS(SVG, "line");
    axis.setAttribute("class", "axis");
    axis.setAttribute("x1", "0"); axis.setAttribute("x2", String(width));
    axis.setAttribute("y1", String(height - bottom)); axis.setAttribute("y2", String(height - bottom));
    svg.appendChild(axis);
    [[0, "start", buckets[0]], [width, "end", buckets[buckets.length - 1]]].forEach(function (l) {
      if (!l[2]) return;
      var t = document.createElementNS(SVG, "text");
      t.setAttribute("x", String(l[0])); t.setAttribute("y", String(height - 3)); t.setAttribute("text-anchor", l[1]);
      t.textContent = fmtTime(l[2].start).slice(bucketKind === "hour" ? 5 : 0, bucketKind === "hour" ? 16 : 10);
      svg.appendChild(t);
    });
    var maxLabel = document.createElementNS(SVG, "text");
    maxLabel.setAttribute("x", "0"); maxLabel.setAttribute("y", "10");
    maxLabel.textContent = "max " + max + " · total " + total;
    svg.appendChild(maxLabel);
    while (container.firstChild) container.removeChild(container.firstChild);
    container.appendChild(svg);
    container.dataset.total = String(total);
  }

  function listReasons(ul, buckets, key) {
    var totals = {};
    buckets.forEach(function (b) { Object.keys(b[key]).forEach(function (r) { totals[r] = (totals[r] || 0) + b[key][r]; }); });
    while (ul.firstChild) ul.removeChild(ul.firstChild);
    Object.keys(totals).sort().forEach(function (r) { var li = document.createElement("li"); text(li, r + ": " + totals[r]); ul.appendChild(li); });
  }

  function loadSeries() {
    var bucket = $("bucket").value;
    return api("series?bucket=" + encodeURIComponent(bucket)).then(function (s) {
      drawBars($("chart-uploads"), s.buckets, function (b) { return b.uploads; }, s.bucket);
      drawBars($("chart-downloads"), s.buckets, function (b) { return b.downloads; }, s.bucket);
      drawBars($("chart-erasures"), s.buckets, function (b) { return b.erasures; }, s.bucket);
      drawBars($("chart-rejections"), s.buckets, function (b) { return b.rejections; }, s.bucket);
      listReasons($("erasure-reasons"), s.buckets, "erasuresByReason");
      listReasons($("rejection-reasons"), s.buckets, "rejectionsByReason");
    });
  }

  function loadJobs() {
    return api("jobs?count=20").then(function (runs) {
      var tbody = $("job-runs").tBodies[0]; clear(tbody);
      runs.forEach(function (r) {
        var tr = tbody.insertRow();
        cell(tr, r.job); cell(tr, fmtTime(r.startedAt)); cell(tr, Math.round(r.durationMs) + " ms", "num");
        cell(tr, r.processed, "num"); var failed = cell(tr, r.failed, "num"); cell(tr, r.errorCode || "");
        if (r.failed > 0 || r.errorCode) tr.className = "alert";
        if (r.failed > 0) failed.setAttribute("aria-label", r.failed + " failed");
      });
      if (runs.length === 0) { var tr = tbody.insertRow(); cell(tr, "No runs recorded yet.").colSpan = 6; }
    });
  }

  function loadHolds() {
    return api("holds").then(function (held) {
      var tbody = $("held-images").tBodies[0]; clear(tbody);
      held.forEach(function (h) {
        var tr = tbody.insertRow();
        tr.dataset.imageId = h.imageId;
        cell(tr, h.imageId, "id"); cell(tr, h.botId); cell(tr, fmtTime(h.heldAt)); cell(tr, h.holdReason || ""); cell(tr, fmtTime(h.expiresAt));
        var td = cell(tr, "", "release");
        var form = document.createElement("form");
        var id = "release-reason-" + h.imageId;
        var label = document.createElement("label"); label.htmlFor = id; text(label, "Reason for releasing " + h.imageId.slice(0, 8));
        var input = document.createElement("input"); input.id = id; input.required = true; input.maxLength = 500; input.name = "reason";
        var button = document.createElement("button"); button.type = "submit"; text(button, "Release hold");
        form.appendChild(label); form.appendChild(input); form.appendChild(button);
        form.addEventListener("submit", function (e) { e.preventDefault(); release(h.imageId, input.value); });
        td.appendChild(form);
      });
      if (held.length === 0) { var tr = tbody.insertRow(); cell(tr, "No image is on legal hold.").colSpan = 6; }
    });
  }

  function release(imageId, reason) {
    var headers = { "Content-Type": "application/json", Accept: "application/json" };
    headers[csrf.header] = csrf.token;
    api("holds/" + encodeURIComponent(imageId) + "/release", { method: "POST", headers: headers, body: JSON.stringify({ reason: reason }) })
      .then(function (r) { text($("holds-status"), "Released the hold on " + r.imageId + " (" + r.actor + ")."); return refresh(true); })
      .catch(function (e) { text($("holds-status"), "Could not release: " + e.message); });
  }

  function auditParams() {
    var p = new URLSearchParams();
    var from = $("audit-from").value, to = $("audit-to").value, kind = $("audit-kind").value, bot = $("audit-bot").value.trim();
    if (from) p.set("from", from + ":00Z");
    if (to) p.set("to", to + ":00Z");
    if (kind) p.set("kind", kind);
    if (bot) p.set("bot", bot);
    return p;
  }

  function loadAudit(more) {
    var p = auditParams();
    $("audit-csv").href = "/admin/api/audit.csv" + (p.toString() ? "?" + p.toString() : "");
    p.set("limit", "50");
    if (more && auditBefore) p.set("before", String(auditBefore));
    return api("audit?" + p.toString()).then(function (page) {
      var tbody = $("audit-events").tBodies[0];
      if (!more) clear(tbody);
      page.events.forEach(function (e) {
        var tr = tbody.insertRow();
        cell(tr, fmtTime(e.at)); cell(tr, e.kind); cell(tr, e.botId || ""); cell(tr, e.imageId || "", "id"); cell(tr, e.consentId || "", "id"); cell(tr, e.actor); cell(tr, e.reason || "");
      });
      auditBefore = page.nextBefore;
      $("audit-more").hidden = !page.nextBefore;
    });
  }

  function lookup(id) {
    var tbody = $("lookup-history").tBodies[0];
    return api("lookup/" + encodeURIComponent(id)).then(function (r) {
      var summary = r.type === "image" && r.image
        ? "Image of bot " + r.image.botId + " (" + r.image.contentType + ", " + fmtBytes(r.image.bytes) + "): " + r.image.state +
          (r.image.erasedAt ? ", erased " + fmtTime(r.image.erasedAt) + " (" + r.image.eraseReason + ")" : ", expires " + fmtTime(r.image.expiresAt))
        : r.type === "consent" && r.consent
          ? "Consent of bot " + r.consent.botId + " for " + r.consent.purpose + " (policy " + r.consent.policyVersion + "), granted " + fmtTime(r.consent.grantedAt) +
            (r.consent.withdrawnAt ? ", withdrawn " + fmtTime(r.consent.withdrawnAt) : "")
          : "Known from the audit log only.";
      text($("lookup-summary"), summary);
      clear(tbody);
      r.history.forEach(function (e) { var tr = tbody.insertRow(); cell(tr, fmtTime(e.at)); cell(tr, e.kind); cell(tr, e.actor); cell(tr, e.reason || ""); });
      $("lookup-history").hidden = false;
    }).catch(function (e) {
      text($("lookup-summary"), e.status === 404 ? "Nothing is recorded under this id." : "Lookup failed: " + e.message);
      clear(tbody); $("lookup-history").hidden = true;
    });
  }

  function refresh(force) {
    // On the timer, the holds table is left alone while someone types a reason into it.
    var typing = !force && document.activeElement && $("held-images").contains(document.activeElement);
    return Promise.all([loadOverview(), loadSeries(), loadJobs()].concat(typing ? [] : [loadHolds()]))
      .then(function () { text($("status"), "Figures updated " + new Date().toLocaleTimeString("en-GB") + "; refreshing every " + (REFRESH_MS / 1000) + " s."); })
      .catch(function (e) { text($("status"), "Could not refresh the figures: " + e.message); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("bucket").addEventListener("change", loadSeries);
    $("lookup-form").addEventListener("submit", function (e) { e.preventDefault(); lookup($("lookup-id").value.trim()); });
    $("audit-form").addEventListener("submit", function (e) { e.preventDefault(); loadAudit(false); });
    $("audit-more").addEventListener("click", function () { loadAudit(true); });
    loadSession().then(function () { return Promise.all([refresh(true), loadAudit(false)]); });
    window.setInterval(function () { refresh(false); }, REFRESH_MS);
  });
})();
