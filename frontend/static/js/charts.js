// A small line chart on a <canvas>: a fixed window of points per series, redrawn on push.
//
//   const chart = new LineChart(canvas, { points: 60 });
//   chart.push({ chat: 12, jobs: 3 });   // one value per series name, once a tick
//
// Series appear as their names first show up; colours come from a fixed palette.

const PALETTE = ["#4f46e5", "#12a150", "#d92d20", "#d97706", "#0891b2", "#9333ea", "#475467"];

export class LineChart {
  constructor(canvas, { points = 60, colors = {} } = {}) {
    this.canvas = canvas;
    this.points = points;
    this.colors = { ...colors };
    this.series = new Map(); // name -> array of numbers, oldest first
  }

  color(name) {
    if (!this.colors[name]) {
      const used = Object.keys(this.colors).length;
      this.colors[name] = PALETTE[used % PALETTE.length];
    }
    return this.colors[name];
  }

  push(values) {
    for (const name of Object.keys(values)) {
      if (!this.series.has(name)) this.series.set(name, new Array(this.points).fill(0));
    }
    for (const [name, data] of this.series) {
      data.push(Number(values[name] ?? 0));
      if (data.length > this.points) data.shift();
    }
    this.draw();
  }

  latest(name) {
    const data = this.series.get(name);
    return data ? data[data.length - 1] : 0;
  }

  draw() {
    const ctx = this.canvas.getContext("2d");
    const { width, height } = this.canvas;
    const pad = 24;
    ctx.clearRect(0, 0, width, height);
    let max = 1;
    for (const data of this.series.values()) max = Math.max(max, ...data);
    ctx.strokeStyle = "#e4e7ec";
    ctx.fillStyle = "#667085";
    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    for (const frac of [0, 0.5, 1]) {
      const y = height - pad - frac * (height - 2 * pad);
      ctx.beginPath();
      ctx.moveTo(pad, y);
      ctx.lineTo(width - 4, y);
      ctx.stroke();
      const value = max * frac;
      ctx.fillText(Number.isInteger(value) ? String(value) : value.toFixed(1), 2, y + 4);
    }
    const step = (width - pad - 4) / (this.points - 1);
    for (const [name, data] of this.series) {
      ctx.strokeStyle = this.color(name);
      ctx.lineWidth = 2;
      ctx.beginPath();
      data.forEach((value, i) => {
        const x = pad + i * step;
        const y = height - pad - (value / max) * (height - 2 * pad);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.stroke();
    }
  }

  // "name: value" per series, in its colour, into `element`.
  legend(element, format = (v) => v.toFixed(0)) {
    element.replaceChildren();
    for (const name of this.series.keys()) {
      const item = document.createElement("span");
      item.className = "legend-item";
      item.style.color = this.color(name);
      item.dataset.series = name;
      item.textContent = `${name}: ${format(this.latest(name))}`;
      element.append(item);
    }
  }
}
