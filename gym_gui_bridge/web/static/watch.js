// The watch page: frames and their HUD over a WebSocket, curves polled from curves.json.
// Everything is drawn here on <canvas>; the page loads nothing from elsewhere.
// It sets data attributes on <body> as it goes (data-frames, data-frame-seq,
// data-curve-points, data-curves-drawn) so a person or a test can see what it has drawn.
"use strict";

(function () {
  const body = document.body;
  const runId = body.dataset.runId;
  const base = "/runs/" + encodeURIComponent(runId);
  const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#17becf"];
  const POLL_MS = 1000;       // how often the curves are asked for (milliseconds)
  const RECONNECT_MS = 1000;  // pause before the frame socket is opened again
  const MAX_POINTS = 20000;   // points kept per curve (the oldest are dropped)

  // --- frames ----------------------------------------------------------------------------
  const frameCanvas = document.getElementById("frame");
  const frameCtx = frameCanvas.getContext("2d");
  const stateLabel = document.getElementById("state");
  const hudCells = {};
  document.querySelectorAll("[data-hud]").forEach(function (cell) {
    hudCells[cell.dataset.hud] = cell;
  });
  let frames = 0;
  let decoding = false;
  let waiting = null;  // the newest frame that arrived while another was decoding

  function fmt(value) {
    if (typeof value !== "number") return String(value);
    return Number.isInteger(value) ? String(value) : value.toFixed(3);
  }

  function showHud(header) {
    const hud = Object.assign({ seq: header.seq }, header.hud);
    hud.age_ms = Math.max(0, Date.now() - header.published_ns / 1e6).toFixed(0) + " ms";
    Object.keys(hudCells).forEach(function (key) {
      if (key in hud) hudCells[key].textContent = fmt(hud[key]);
    });
  }

  function paint(message) {
    const view = new DataView(message);
    const length = view.getUint32(0);
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(message, 4, length)));
    const jpeg = new Blob([new Uint8Array(message, 4 + length)], { type: "image/jpeg" });
    decoding = true;
    createImageBitmap(jpeg).then(function (bitmap) {
      if (frameCanvas.width !== bitmap.width || frameCanvas.height !== bitmap.height) {
        frameCanvas.width = bitmap.width;
        frameCanvas.height = bitmap.height;
      }
      frameCtx.drawImage(bitmap, 0, 0);
      bitmap.close();
      showHud(header);
      frames += 1;
      body.dataset.frames = String(frames);
      body.dataset.frameSeq = String(header.seq);
      stateLabel.textContent = "live";
    }).catch(function (error) {
      stateLabel.textContent = "bad frame: " + error;
    }).finally(function () {
      decoding = false;
      if (waiting !== null) {
        const next = waiting;
        waiting = null;
        paint(next);
      }
    });
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + base + "/ws");
    socket.binaryType = "arraybuffer";
    socket.onmessage = function (event) {
      if (typeof event.data === "string") {
        const state = JSON.parse(event.data).state;
        stateLabel.textContent = state === "waiting" ? "waiting for the run's frames" : state;
        return;
      }
      if (decoding) waiting = event.data; else paint(event.data);
    };
    socket.onclose = function () {
      stateLabel.textContent = "disconnected; reconnecting";
      setTimeout(connect, RECONNECT_MS);
    };
  }

  // --- curves ----------------------------------------------------------------------------
  const returnsCanvas = document.getElementById("returns");
  const legend = document.getElementById("legend");
  const scalarRows = document.querySelector("#scalars tbody");
  const slots = new Map();    // slot -> [[episode, return], ...]
  const scalars = new Map();  // tag -> {points: [[step, value], ...], row, canvas}
  let cursor = "";
  let points = 0;

  function keep(list, item) {
    list.push(item);
    if (list.length > MAX_POINTS) list.splice(0, list.length - MAX_POINTS);
  }

  function bounds(series) {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    series.forEach(function (list) {
      list.forEach(function (p) {
        x0 = Math.min(x0, p[0]); x1 = Math.max(x1, p[0]);
        y0 = Math.min(y0, p[1]); y1 = Math.max(y1, p[1]);
      });
    });
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { y0 -= 1; y1 += 1; }
    return [x0, x1, y0, y1];
  }

  // Draws each list of [x, y] as a line in its color; axis labels when `axes`.
  function plot(canvas, series, colors, axes) {
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height;
    const pad = axes ? 40 : 2;
    ctx.clearRect(0, 0, w, h);
    if (!series.some(function (list) { return list.length; })) return false;
    const [x0, x1, y0, y1] = bounds(series);
    const sx = function (x) { return pad + (x - x0) / (x1 - x0) * (w - pad - 6); };
    const sy = function (y) { return h - pad / 2 - (y - y0) / (y1 - y0) * (h - pad); };
    if (axes) {
      ctx.strokeStyle = "#bbb"; ctx.fillStyle = "#444"; ctx.font = "11px sans-serif";
      ctx.beginPath(); ctx.moveTo(pad, 4); ctx.lineTo(pad, h - pad / 2);
      ctx.lineTo(w - 4, h - pad / 2); ctx.stroke();
      ctx.fillText(fmt(y1), 2, 12); ctx.fillText(fmt(y0), 2, h - pad / 2);
      ctx.fillText(fmt(x0), pad, h - 4); ctx.fillText(fmt(x1), w - 50, h - 4);
    }
    series.forEach(function (list, i) {
      ctx.strokeStyle = colors[i % colors.length];
      ctx.lineWidth = 2;
      ctx.beginPath();
      list.forEach(function (p, j) {
        if (j === 0) ctx.moveTo(sx(p[0]), sy(p[1])); else ctx.lineTo(sx(p[0]), sy(p[1]));
      });
      if (list.length === 1) ctx.arc(sx(list[0][0]), sy(list[0][1]), 2, 0, 2 * Math.PI);
      ctx.stroke();
    });
    return true;
  }

  function drawReturns() {
    const order = Array.from(slots.keys()).sort(function (a, b) { return a - b; });
    const drawn = plot(returnsCanvas, order.map(function (s) { return slots.get(s); }),
      order.map(function (_, i) { return COLORS[i % COLORS.length]; }), true);
    legend.textContent = "";
    order.forEach(function (slot, i) {
      const item = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.background = COLORS[i % COLORS.length];
      item.appendChild(swatch);
      item.appendChild(document.createTextNode("slot " + slot + " (" +
        slots.get(slot).length + ")"));
      legend.appendChild(item);
    });
    if (drawn) body.dataset.curvesDrawn = "1";
  }

  function scalarRow(tag) {
    let entry = scalars.get(tag);
    if (entry) return entry;
    const row = document.createElement("tr");
    const cells = [0, 1, 2, 3].map(function () { return document.createElement("td"); });
    cells[0].textContent = tag;
    const canvas = document.createElement("canvas");
    canvas.width = 160; canvas.height = 32;
    cells[3].appendChild(canvas);
    cells.forEach(function (cell) { row.appendChild(cell); });
    scalarRows.appendChild(row);
    entry = { points: [], cells: cells, canvas: canvas };
    scalars.set(tag, entry);
    return entry;
  }

  function take(answer) {
    answer.episodes.forEach(function (e) {  // [slot, episode, return, length, wall_time]
      if (!slots.has(e[0])) slots.set(e[0], []);
      keep(slots.get(e[0]), [e[1], e[2]]);
    });
    const touched = new Set();
    answer.scalars.forEach(function (s) {  // [tag, step, value, wall_time]
      keep(scalarRow(s[0]).points, [s[1], s[2]]);
      touched.add(s[0]);
    });
    points += answer.episodes.length + answer.scalars.length;
    body.dataset.curvePoints = String(points);
    if (answer.episodes.length) drawReturns();
    touched.forEach(function (tag) {
      const entry = scalars.get(tag);
      const last = entry.points[entry.points.length - 1];
      entry.cells[1].textContent = fmt(last[0]);
      entry.cells[2].textContent = fmt(last[1]);
      plot(entry.canvas, [entry.points], ["#555"], false);
    });
  }

  function poll() {
    fetch(base + "/curves.json?after=" + encodeURIComponent(cursor), { cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status + " " + response.statusText);
        return response.json();
      })
      .then(function (answer) {
        cursor = answer.cursor;
        take(answer);
        setTimeout(poll, answer.more ? 0 : POLL_MS);
      })
      .catch(function () { setTimeout(poll, POLL_MS); });
  }

  connect();
  poll();
})();
