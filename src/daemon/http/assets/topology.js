// egd topology page. Polls the state JSON (the shape of the supernode's
// `manage/super/state`) every few seconds and draws the mesh as a
// force-directed graph: nodes, one arrow per measured direction coloured by
// its one-way latency, offline nodes greyed. Clicking two nodes highlights
// the forward path (first → second) and the return path from NhTable.
// Plain SVG and DOM, no libraries, no build step. Text from the network
// only ever goes through textContent.
(() => {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const POLL_MS = 3000;
  const NODE_R = 18;
  const IDEAL = 150; // preferred distance between linked nodes (layout units)
  const BAD_MS = 200; // latency drawn fully red (log scale from 1 ms)

  const $ = (id) => document.getElementById(id);
  const svg = $("topo");
  const stateUrl = document.querySelector('meta[name="egd-state-url"]').content;
  const secret = new URLSearchParams(location.search).get("Password") || "";

  const nodes = new Map(); // id → {id, name, online, lastSeen, x, y, el}
  const edges = new Map(); // "s>d" → {s, d, secs, el, path, label}
  let state = null;
  let selection = []; // up to two node ids
  let temperature = 0;
  let animating = false;

  // ---- colours -----------------------------------------------------------

  const hueOf = (secs) => {
    const ms = Math.max(secs * 1000, 1);
    const t = Math.min(Math.log10(ms) / Math.log10(BAD_MS), 1);
    return Math.round((120 * (1 - t)) / 10) * 10;
  };
  const colourOf = (secs) => `hsl(${hueOf(secs)}, 75%, 38%)`;
  const markers = new Map();
  const markerFor = (colour) => {
    if (!markers.has(colour)) {
      const id = `arrow${markers.size}`;
      const m = el("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 10, markerHeight: 10, markerUnits: "userSpaceOnUse", orient: "auto" });
      m.appendChild(el("path", { d: "M0,0 L10,5 L0,10 z", fill: colour }));
      $("markers").appendChild(m);
      markers.set(colour, id);
    }
    return `url(#${markers.get(colour)})`;
  };
  const fmtMs = (secs) => {
    const ms = secs * 1000;
    return `${ms.toFixed(Math.abs(ms) < 10 ? 2 : 1)} ms`;
  };

  function el(name, attrs, text) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function legend() {
    const box = $("legend");
    for (const ms of [1, 5, 20, 50, 200]) {
      const span = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.background = colourOf(ms / 1000);
      span.append(swatch, `${ms} ms`);
      box.appendChild(span);
    }
  }

  // ---- state → model -----------------------------------------------------

  function apply(s) {
    state = s;
    const inf = s.Infinity || 99999;
    const ids = new Set(Object.keys(s.PeerInfo || {}));
    const seen = new Set();
    let changed = false;
    for (const [src, row] of Object.entries(s.Edges || {})) {
      for (const [dst, secs] of Object.entries(row)) {
        if (typeof secs !== "number" || secs >= inf || src === dst) continue;
        ids.add(src);
        ids.add(dst);
        const key = `${src}>${dst}`;
        seen.add(key);
        let e = edges.get(key);
        if (!e) {
          e = makeEdge(src, dst);
          edges.set(key, e);
          changed = true;
        }
        e.secs = secs;
      }
    }
    for (const [key, e] of edges) {
      if (!seen.has(key)) {
        e.el.remove();
        edges.delete(key);
        changed = true;
      }
    }
    const sorted = [...ids].sort((a, b) => a - b);
    sorted.forEach((id, i) => {
      let n = nodes.get(id);
      if (!n) {
        // Deterministic start: a sunflower spiral by order of appearance.
        const a = i * 2.39996, r = IDEAL * 0.6 * Math.sqrt(i + 1);
        n = makeNode(id, r * Math.cos(a), r * Math.sin(a));
        nodes.set(id, n);
        changed = true;
      }
      const info = (s.PeerInfo || {})[id];
      n.name = info ? info.Name : `node ${id}`;
      n.online = info ? !!info.Online : true;
      n.lastSeen = info ? info.LastSeen : "";
    });
    for (const [id, n] of nodes) {
      if (!ids.has(id)) {
        n.el.remove();
        nodes.delete(id);
        changed = true;
      }
    }
    selection = selection.filter((id) => nodes.has(id));
    for (const n of nodes.values()) styleNode(n);
    for (const e of edges.values()) styleEdge(e);
    nodeTable();
    if (changed) heat();
    draw();
  }

  function makeNode(id, x, y) {
    const g = el("g", { class: "node", "data-id": id });
    g.appendChild(el("circle", { r: NODE_R }));
    g.appendChild(el("text", { class: "id" }, id));
    g.appendChild(el("text", { class: "name", y: NODE_R + 12 }));
    g.addEventListener("click", (ev) => {
      ev.stopPropagation();
      select(id);
    });
    $("nodes").appendChild(g);
    return { id, x, y, el: g };
  }

  function styleNode(n) {
    n.el.setAttribute("class", `node ${n.online ? "online" : "offline"}`);
    n.el.querySelector(".name").textContent = n.online ? n.name : `${n.name} (offline)`;
    const i = selection.indexOf(n.id);
    if (i >= 0) n.el.classList.add("selected", i === 0 ? "first" : "second");
  }

  function makeEdge(s, d) {
    const g = el("g", { class: "edge", "data-src": s, "data-dst": d });
    const path = el("path");
    const label = el("text", { class: "label" });
    const title = el("title");
    g.append(path, label, title);
    $("edges").appendChild(g);
    return { s, d, secs: 0, el: g, path, label, title };
  }

  function styleEdge(e) {
    const c = colourOf(e.secs);
    e.path.setAttribute("stroke", c);
    e.path.setAttribute("marker-end", markerFor(c));
    e.label.setAttribute("fill", c);
    e.label.textContent = fmtMs(e.secs);
    e.el.setAttribute("data-ms", (e.secs * 1000).toFixed(3));
    const name = (id) => (nodes.get(id) || { name: id }).name;
    e.title.textContent = `${name(e.s)} → ${name(e.d)}: ${fmtMs(e.secs)} one way`;
  }

  function nodeTable() {
    const body = $("node-table").tBodies[0];
    body.replaceChildren();
    for (const n of [...nodes.values()].sort((a, b) => a.id - b.id)) {
      const tr = document.createElement("tr");
      tr.className = n.online ? "online" : "offline";
      for (const t of [n.id, n.name, n.online ? "online" : "offline", n.lastSeen]) {
        const td = document.createElement("td");
        td.textContent = t;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  }

  // ---- paths -------------------------------------------------------------

  // The hops from `a` to `b` by NhTable, or null when there is no route
  // (or the table loops, which a consistent table never does).
  function route(a, b) {
    const nh = (state && state.NhTable) || {};
    const path = [a];
    let cur = a;
    while (cur !== b) {
      const next = nh[cur] && nh[cur][b];
      if (next === undefined || next === null || path.length > nodes.size) return null;
      cur = String(next);
      path.push(cur);
    }
    return path;
  }

  function pathLatency(path) {
    let sum = 0;
    for (let i = 0; i + 1 < path.length; i++) {
      const e = edges.get(`${path[i]}>${path[i + 1]}`);
      if (!e) return null;
      sum += e.secs;
    }
    return sum;
  }

  function select(id) {
    selection = selection.length >= 2 ? [id] : selection.concat(selection[0] === id ? [] : [id]);
    for (const n of nodes.values()) styleNode(n);
    draw();
  }

  function describe(span, path) {
    const name = (id) => (nodes.get(id) || { name: id }).name;
    span.setAttribute("data-path", path ? path.join(",") : "");
    if (!path) {
      span.textContent = "no route";
      return;
    }
    const lat = pathLatency(path);
    span.textContent = `${path.map(name).join(" → ")} · ${lat === null ? "?" : fmtMs(lat)}`;
  }

  function paths() {
    const [a, b] = selection;
    const fwd = a !== undefined && b !== undefined ? route(a, b) : null;
    const ret = a !== undefined && b !== undefined ? route(b, a) : null;
    svg.classList.toggle("selecting", selection.length === 2);
    const hint = $("hint");
    if (selection.length === 0) hint.textContent = "Click two nodes to see the route each way.";
    else if (selection.length === 1) hint.textContent = `From ${nodes.get(a).name}: click the other end.`;
    else hint.textContent = `${nodes.get(a).name} ⇄ ${nodes.get(b).name} (click a node to start again, the background to clear)`;
    if (selection.length === 2) {
      describe($("path-fwd"), fwd);
      describe($("path-ret"), ret);
      const same = fwd && ret && fwd.join(",") === [...ret].reverse().join(",");
      $("symmetry").textContent = !fwd || !ret ? "" : same ? "Symmetric: both ways use the same nodes." : "Asymmetric: the return path differs.";
    } else {
      for (const id of ["path-fwd", "path-ret"]) {
        $(id).textContent = "–";
        $(id).setAttribute("data-path", "");
      }
      $("symmetry").textContent = "";
    }
    return { fwd, ret };
  }

  // ---- geometry and drawing ------------------------------------------------

  // A quadratic curve from p to q bent to its left, so the two directions
  // of a link bend apart; trimmed to the node circles.
  function curve(p, q, bendScale) {
    const dx = q.x - p.x, dy = q.y - p.y;
    const len = Math.hypot(dx, dy) || 1;
    const bend = Math.min(40, len * 0.22) * bendScale;
    const cx = (p.x + q.x) / 2 - (dy / len) * bend;
    const cy = (p.y + q.y) / 2 + (dx / len) * bend;
    const towards = (from, r) => {
      const ux = cx - from.x, uy = cy - from.y;
      const l = Math.hypot(ux, uy) || 1;
      return { x: from.x + (ux / l) * r, y: from.y + (uy / l) * r };
    };
    const s = towards(p, NODE_R), e = towards(q, NODE_R + 2);
    return {
      d: `M${s.x.toFixed(1)},${s.y.toFixed(1)} Q${cx.toFixed(1)},${cy.toFixed(1)} ${e.x.toFixed(1)},${e.y.toFixed(1)}`,
      mid: { x: 0.25 * s.x + 0.5 * cx + 0.25 * e.x, y: 0.25 * s.y + 0.5 * cy + 0.25 * e.y },
    };
  }

  function draw() {
    for (const n of nodes.values()) n.el.setAttribute("transform", `translate(${n.x.toFixed(1)},${n.y.toFixed(1)})`);
    for (const e of edges.values()) {
      const c = curve(nodes.get(e.s), nodes.get(e.d), 1);
      e.path.setAttribute("d", c.d);
      e.label.setAttribute("x", c.mid.x.toFixed(1));
      e.label.setAttribute("y", c.mid.y.toFixed(1));
    }
    const hl = $("highlight");
    hl.replaceChildren();
    const { fwd, ret } = paths();
    for (const [path, cls, colour] of [[fwd, "fwd", "#1f6feb"], [ret, "ret", "#d6336c"]]) {
      if (!path) continue;
      for (let i = 0; i + 1 < path.length; i++) {
        if (!nodes.has(path[i]) || !nodes.has(path[i + 1])) continue;
        const c = curve(nodes.get(path[i]), nodes.get(path[i + 1]), 1);
        hl.appendChild(el("path", { class: `hl ${cls}`, d: c.d, "marker-end": markerFor(colour), "data-src": path[i], "data-dst": path[i + 1] }));
        const e = edges.get(`${path[i]}>${path[i + 1]}`);
        if (e) hl.appendChild(el("text", { class: "hl-label", x: c.mid.x.toFixed(1), y: c.mid.y.toFixed(1), fill: colour }, fmtMs(e.secs)));
      }
    }
    fit();
  }

  function fit() {
    if (nodes.size === 0) return;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const n of nodes.values()) {
      x0 = Math.min(x0, n.x); y0 = Math.min(y0, n.y);
      x1 = Math.max(x1, n.x); y1 = Math.max(y1, n.y);
    }
    const pad = NODE_R + 50;
    const w = Math.max(x1 - x0 + 2 * pad, 400), h = Math.max(y1 - y0 + 2 * pad, 300);
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    svg.setAttribute("viewBox", `${(cx - w / 2).toFixed(0)} ${(cy - h / 2).toFixed(0)} ${w.toFixed(0)} ${h.toFixed(0)}`);
  }

  // ---- layout: Fruchterman–Reingold with cooling ---------------------------

  function heat() {
    temperature = IDEAL;
    svg.setAttribute("data-settled", "0");
    if (!animating) {
      animating = true;
      requestAnimationFrame(frame);
    }
  }

  function step() {
    const list = [...nodes.values()];
    let mx = 0, my = 0;
    for (const n of list) { mx += n.x / list.length; my += n.y / list.length; }
    // A weak pull to the centroid keeps unlinked (e.g. offline) nodes near.
    for (const n of list) { n.fx = (mx - n.x) * 0.1; n.fy = (my - n.y) * 0.1; }
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i], b = list[j];
        let dx = a.x - b.x, dy = a.y - b.y;
        if (dx === 0 && dy === 0) { dx = 0.1 * (i + 1); dy = 0.1; }
        const d = Math.hypot(dx, dy);
        if (d > 2.5 * IDEAL) continue; // repulsion has a range, or loners drift off
        const f = (IDEAL * IDEAL) / d / d;
        a.fx += dx * f; a.fy += dy * f;
        b.fx -= dx * f; b.fy -= dy * f;
      }
    }
    const linked = new Set();
    for (const e of edges.values()) {
      const key = e.s < e.d ? `${e.s}-${e.d}` : `${e.d}-${e.s}`;
      if (linked.has(key)) continue;
      linked.add(key);
      const a = nodes.get(e.s), b = nodes.get(e.d);
      const dx = a.x - b.x, dy = a.y - b.y;
      const f = Math.hypot(dx, dy) / IDEAL;
      a.fx -= dx * f; a.fy -= dy * f;
      b.fx += dx * f; b.fy += dy * f;
    }
    for (const n of list) {
      const m = Math.hypot(n.fx, n.fy);
      if (m > 0) {
        const move = Math.min(m, temperature);
        n.x += (n.fx / m) * move;
        n.y += (n.fy / m) * move;
      }
    }
    temperature *= 0.96;
  }

  function frame() {
    for (let i = 0; i < 4 && temperature > 0.3; i++) step();
    draw();
    if (temperature > 0.3) {
      requestAnimationFrame(frame);
    } else {
      animating = false;
      svg.setAttribute("data-settled", "1");
    }
  }

  // ---- polling -------------------------------------------------------------

  async function poll() {
    const status = $("status");
    try {
      const headers = secret ? { Authorization: `Bearer ${secret}` } : {};
      const r = await fetch(stateUrl, { headers, cache: "no-store", credentials: "omit" });
      if (r.status === 401) throw new Error("wrong or missing password (open the page with ?Password=…)");
      if (!r.ok) throw new Error(`state: HTTP ${r.status}`);
      apply(await r.json());
      const online = [...nodes.values()].filter((n) => n.online).length;
      status.className = "";
      status.textContent = `${nodes.size} nodes (${online} online), ${edges.size} directed links · updated ${new Date().toLocaleTimeString()}`;
      svg.classList.remove("stale");
    } catch (err) {
      status.className = "error";
      status.textContent = `${err.message}; retrying`;
      svg.classList.add("stale");
    }
    setTimeout(poll, POLL_MS);
  }

  svg.addEventListener("click", () => {
    selection = [];
    for (const n of nodes.values()) styleNode(n);
    draw();
  });
  legend();
  poll();
})();
