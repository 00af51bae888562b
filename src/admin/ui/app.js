// S3 Orchestrator dashboard: polls /admin/status and /stats, renders tables and a canvas chart.
// No external libraries; everything is served by the orchestrator itself.
"use strict";

const REFRESH_MS = 2000;
let previous = null; // { t: ms, created: copies_created_total }

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function ms(v) { return v < 1 ? v.toFixed(3) + " ms" : v < 100 ? v.toFixed(1) + " ms" : Math.round(v) + " ms"; }

function quotaCell(b) {
  if (b.quota_bytes === null || b.quota_bytes === undefined) return el("td", {}, "unlimited");
  const pct = b.quota_bytes > 0 ? Math.min(100, (100 * b.used_bytes) / b.quota_bytes) : 100;
  const bar = el("span", { class: "bar" + (pct >= 100 ? " full" : pct >= 80 ? " high" : "") },
    el("div", { style: "width:" + pct.toFixed(1) + "%" }));
  return el("td", {}, bar, pct.toFixed(1) + "% of " + bytes(b.quota_bytes));
}

function usageCell(u) {
  if (!u) return el("td", { class: "muted" }, "not tracked");
  const of = (v, limit, fmt) => fmt(v) + (limit === undefined ? "" : " / " + fmt(limit));
  const n = (v) => String(v);
  return el("td", { title: "calendar month " + u.month + " (UTC)" },
    of(u.api_requests, u.api_request_limit, n) + " req, " +
    of(u.egress_bytes, u.egress_byte_limit, bytes) + " out, " +
    of(u.ingress_bytes, u.ingress_byte_limit, bytes) + " in");
}

function renderBackends(status) {
  const body = document.querySelector("#backends tbody");
  body.replaceChildren(...status.backends.map((b) => el("tr", { "data-backend": b.name },
    el("td", {}, b.name, el("span", { class: "muted" }, " (" + b.kind + ")")),
    el("td", { class: "health " + b.health, title: b.health_reason }, b.health),
    quotaCell(b),
    el("td", { class: "num" }, b.objects),
    el("td", { class: "num" }, bytes(b.used_bytes)),
    el("td", { class: "num" }, b.requests + " (" + b.failed_requests + ")"),
    usageCell(b.usage))));
}

function renderReplication(status, now) {
  const r = status.replication;
  document.getElementById("repl-factor").textContent = r.factor;
  document.getElementById("repl-pending").textContent = Math.max(r.pending, r.queued);
  document.getElementById("repl-under").textContent = r.under_replicated + (r.under_replicated_complete ? "" : "+");
  document.getElementById("repl-created").textContent = r.copies_created_total;
  document.getElementById("repl-errors").textContent = r.errors_total;
  let rate = 0;
  if (previous && now > previous.t) rate = ((r.copies_created_total - previous.created) * 1000) / (now - previous.t);
  previous = { t: now, created: r.copies_created_total };
  document.getElementById("repl-rate").textContent = rate.toFixed(1);
}

function renderFailovers(status) {
  const body = document.querySelector("#failovers tbody");
  if (status.recent_failovers.length === 0) {
    body.replaceChildren(el("tr", {}, el("td", { class: "muted", colspan: "5" }, "none since start")));
    return;
  }
  body.replaceChildren(...status.recent_failovers.map((f) => el("tr", {},
    el("td", {}, new Date(f.at_ms).toLocaleTimeString()),
    el("td", {}, f.bucket + "/" + f.key), el("td", {}, f.from), el("td", {}, f.to), el("td", {}, f.reason))));
}

function drawChart(ops) {
  const c = document.getElementById("latency-chart");
  const g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const names = Object.keys(ops);
  g.font = "12px system-ui, sans-serif";
  if (names.length === 0) { g.fillStyle = "#656d76"; g.fillText("no requests yet", 12, 24); return; }
  const series = [["p50", "#1a7f37"], ["p90", "#0969da"], ["p99", "#bf8700"]];
  const max = Math.max(...names.map((n) => ops[n].p99), 0.001);
  const left = 40, bottom = c.height - 36, top = 16, width = c.width - left - 10;
  const group = width / names.length, bar = Math.min(24, (group - 10) / series.length);
  g.strokeStyle = "#d0d7de"; g.fillStyle = "#656d76";
  for (let i = 0; i <= 4; i++) {
    const y = bottom - ((bottom - top) * i) / 4;
    g.beginPath(); g.moveTo(left, y); g.lineTo(c.width - 10, y); g.stroke();
    g.fillText(ms((max * i) / 4).replace(" ms", ""), 2, y + 4);
  }
  names.forEach((n, i) => {
    const x0 = left + i * group + 5;
    series.forEach(([k, color], j) => {
      const h = ((bottom - top) * ops[n][k]) / max;
      g.fillStyle = color; g.fillRect(x0 + j * bar, bottom - h, bar - 2, h);
    });
    g.fillStyle = "#1f2328"; g.fillText(n, x0, bottom + 14);
  });
  series.forEach(([k, color], j) => { g.fillStyle = color; g.fillRect(left + j * 60, c.height - 14, 10, 10); g.fillText(k, left + j * 60 + 14, c.height - 5); });
}

function renderLatency(stats) {
  const recent = stats.windows.last_60s;
  const win = recent && Object.keys(recent.operations).length > 0 ? recent : stats.windows.since_start;
  document.getElementById("latency-window").textContent = win === recent ? "(last 60 s, ms)" : "(since start, ms)";
  const body = document.querySelector("#latency tbody");
  body.replaceChildren(...Object.entries(win.operations).map(([op, p]) => el("tr", { "data-op": op },
    el("td", {}, op), el("td", { class: "num" }, p.count),
    ...[p.p50, p.p90, p.p99, p.p99_9, p.max].map((v) => el("td", { class: "num" }, ms(v))))));
  drawChart(win.operations);
}

async function refresh() {
  try {
    const [sr, tr] = await Promise.all([fetch("/admin/status"), fetch("/stats")]);
    if (sr.status === 401) { location.href = "/ui"; return; }
    const status = await sr.json();
    const stats = await tr.json();
    const now = Date.now();
    renderBackends(status);
    renderReplication(status, now);
    renderFailovers(status);
    renderLatency(stats);
    document.getElementById("summary").textContent = "v" + status.version + " · " + status.routing_strategy +
      " · up " + Math.round(status.uptime_seconds) + " s · " + status.requests_total + " requests · " +
      status.inflight_requests + " in flight";
    document.getElementById("updated").textContent = "updated " + new Date(now).toLocaleTimeString();
    document.body.dataset.loaded = "1";
  } catch (e) {
    document.getElementById("updated").textContent = "refresh failed: " + e;
  }
}

// Changing requests carry X-Requested-With (the admin listener refuses them otherwise).
document.getElementById("sign-out").addEventListener("click", async () => {
  await fetch("/ui/logout", { method: "POST", headers: { "X-Requested-With": "s3-orchestrator" }, credentials: "same-origin", redirect: "manual" });
  location.href = "/ui";
});

refresh();
setInterval(refresh, REFRESH_MS);
