// Learning: rewards, exploration vs exploitation, and convergence of training metrics, per
// agent.

import { h, clear } from "../dom.js";
import * as f from "../format.js";
import { bars, lines, mount, legend, colorFor } from "../charts.js";
import { pageHeader, card, kpi, kpis, table, select, field, emptyState, tag } from "../ui.js";

export async function render(root, ctx) {
  const data = await ctx.api.get("learning", { from: ctx.range.from, to: ctx.range.to });
  root.appendChild(pageHeader("Learning", "Rewards, exploration vs exploitation, and convergence per agent"));
  if (!data.agents.length) {
    root.appendChild(emptyState("No learning signals (learning.reward / learning.explore / learning.step events) in this range."));
    return;
  }
  root.appendChild(
    card(
      "All learning agents",
      table(
        [
          { label: "Agent", cell: (a) => a.agent_name },
          { label: "Rewards", class: "num", cell: (a) => f.num(a.reward_count) },
          { label: "Average", class: "num", cell: (a) => fmtReward(a.average_reward) },
          { label: "Total", class: "num", cell: (a) => fmtReward(a.total_reward) },
          { label: "Trend", cell: (a) => trendTag(a.reward_trend) },
          { label: "Exploration", class: "num", cell: (a) => f.pct(a.exploration_rate) },
          { label: "ε now", class: "num", cell: (a) => (a.latest_epsilon === null ? "—" : a.latest_epsilon.toFixed(3)) },
          { label: "Training steps", class: "num", cell: (a) => f.num(a.steps.length) },
          { label: "Converged", cell: (a) => convergedTag(a) },
        ],
        data.agents,
        { testid: "learning-table", onRow: (a) => choose(a.agent_name) },
      ),
    ),
  );
  const names = data.agents.map((a) => a.agent_name);
  const state = { agent: names.includes(ctx.params.agent) ? ctx.params.agent : names[0] };
  const detail = h("div", { class: "learning-detail" });
  const sel = select(names.map((n) => [n, n]), state.agent, (v) => choose(v), { dataset: { testid: "learning-agent" } });
  root.appendChild(h("div", { class: "filters" }, field("Agent", sel)));
  root.appendChild(detail);

  function choose(name) {
    state.agent = name;
    sel.value = name;
    ctx.setParams({ agent: name });
    draw();
  }

  function draw() {
    const a = data.agents.find((x) => x.agent_name === state.agent);
    clear(detail);
    if (!a) return;
    detail.appendChild(
      kpis(
        kpi("Rewards", f.num(a.reward_count), { sub: `total ${fmtReward(a.total_reward)}` }),
        kpi("Average reward", fmtReward(a.average_reward), { sub: a.reward_trend.direction.replace("_", " ") }),
        kpi("Exploration rate", f.pct(a.exploration_rate), { sub: `${a.exploration_count} explore · ${a.exploitation_count} exploit` }),
        kpi("Latest ε", a.latest_epsilon === null ? "—" : a.latest_epsilon.toFixed(3)),
        kpi("Reward converged", convText(a.reward_convergence), { tone: a.reward_convergence.converged ? "good" : undefined }),
      ),
    );
    // rewards with a moving average, and the cumulative reward
    const win = Math.max(2, Math.min(10, Math.round(a.rewards.length / 6)));
    const rewardItems = a.rewards.map((r, i) => {
      const from = Math.max(0, i - win + 1);
      const slice = a.rewards.slice(from, i + 1);
      return { t: r[0], reward: r[1], avg: slice.reduce((x, y) => x + y[1], 0) / slice.length, cumulative: r[2] };
    });
    const rewardBox = h("div", { class: "chart-box" });
    const cumBox = h("div", { class: "chart-box" });
    detail.appendChild(
      h(
        "div",
        { class: "grid-2" },
        card(
          "Reward per action",
          legend([
            { label: "reward", color: "#94a3b8" },
            { label: `moving average (${win})`, color: "#6366f1" },
          ]),
          rewardBox,
        ),
        card("Cumulative reward", legend([{ label: "cumulative", color: "#10b981" }]), cumBox),
      ),
    );
    const xl = (i) => "#" + (i + 1);
    if (rewardItems.length) {
      mount(
        rewardBox,
        lines({
          items: rewardItems,
          series: [
            { key: "reward", label: "reward", color: "#94a3b8", points: true, dash: true },
            { key: "avg", label: "moving average", color: "#6366f1" },
          ],
          xLabel: xl,
          title: (it) => f.datetime(it.t),
          yFormat: (v) => fmtReward(v),
        }),
      );
      mount(
        cumBox,
        lines({
          items: rewardItems,
          series: [{ key: "cumulative", label: "cumulative", color: "#10b981", area: true }],
          xLabel: xl,
          title: (it) => f.datetime(it.t),
          yFormat: (v) => fmtReward(v),
        }),
      );
    } else {
      rewardBox.appendChild(h("p", { class: "muted" }, "No rewards recorded."));
    }
    // exploration vs exploitation in windows, and epsilon
    const ex = a.explore;
    const nb = Math.min(20, Math.max(1, ex.length));
    const per = Math.ceil(ex.length / nb) || 1;
    const exItems = [];
    for (let i = 0; i < ex.length; i += per) {
      const chunk = ex.slice(i, i + per);
      const eps = chunk.map((c) => c[2]).filter((v) => v !== null && v !== undefined);
      exItems.push({
        t: chunk[0][0],
        label: `#${i + 1}–${i + chunk.length}`,
        explore: chunk.filter((c) => c[1]).length,
        exploit: chunk.filter((c) => !c[1]).length,
        epsilon: eps.length ? eps[eps.length - 1] : null,
        rate: chunk.filter((c) => c[1]).length / chunk.length,
      });
    }
    const exBox = h("div", { class: "chart-box" });
    const epsBox = h("div", { class: "chart-box" });
    detail.appendChild(
      h(
        "div",
        { class: "grid-2" },
        card(
          "Exploration vs exploitation",
          legend([
            { label: "explore", color: "#f59e0b" },
            { label: "exploit", color: "#6366f1" },
          ]),
          exBox,
        ),
        card(
          "ε and exploration rate",
          legend([
            { label: "ε (epsilon)", color: "#ef4444" },
            { label: "observed exploration rate", color: "#f59e0b" },
          ]),
          epsBox,
        ),
      ),
    );
    if (exItems.length) {
      mount(
        exBox,
        bars({
          items: exItems,
          series: [
            { key: "explore", label: "explore", color: "#f59e0b" },
            { key: "exploit", label: "exploit", color: "#6366f1" },
          ],
          xLabel: (i, it) => it.label,
          title: (it) => `decisions ${it.label}`,
        }),
      );
      mount(
        epsBox,
        lines({
          items: exItems,
          series: [
            { key: "epsilon", label: "ε", color: "#ef4444", points: true },
            { key: "rate", label: "exploration rate", color: "#f59e0b", dash: true },
          ],
          xLabel: (i, it) => it.label,
          title: (it) => `decisions ${it.label}`,
          yFormat: (v) => Number(v).toFixed(2),
          minY: 0,
          maxY: 1,
        }),
      );
    } else {
      exBox.appendChild(h("p", { class: "muted" }, "No exploration decisions recorded."));
    }
    // training metrics and convergence
    if (a.metrics.length) {
      const grid = h("div", { class: "grid-2" });
      a.metrics.forEach((m, i) => {
        const items = a.steps.filter((s) => s[2][m] !== undefined && s[2][m] !== null).map((s) => ({ t: s[0], step: s[1], v: s[2][m] }));
        const box = h("div", { class: "chart-box" });
        const conv = a.convergence[m] || {};
        grid.appendChild(
          card(
            `Training: ${m}`,
            h(
              "div",
              { class: "conv-line" },
              conv.converged === true ? tag("converged", "good") : conv.converged === false ? tag("not converged", "warn") : tag("too few steps", ""),
              conv.relative_change !== undefined && conv.relative_change !== null ? h("span", { class: "muted" }, ` last-window change ${(conv.relative_change * 100).toFixed(1)}%`) : null,
            ),
            box,
          ),
        );
        mount(
          box,
          lines({
            items,
            series: [{ key: "v", label: m, color: colorFor(i + 3), points: items.length < 60 }],
            xLabel: (j, it) => "step " + (it.step ?? j + 1),
            title: (it) => `step ${it.step ?? "?"} · ${f.datetime(it.t)}`,
            yFormat: (v) => Number(v).toFixed(3),
            minY: Math.min(0, ...items.map((x) => x.v)),
          }),
        );
      });
      detail.appendChild(grid);
    }
    if (a.signals.length) {
      detail.appendChild(
        card(
          "Convergence signals",
          table(
            [
              { label: "Time", cell: (s) => f.datetime(s.t) },
              { label: "Metric", cell: (s) => s.metric || "" },
              { label: "State", cell: (s) => (s.converged ? tag("converged", "good") : tag("diverged", "warn")) },
            ],
            a.signals,
          ),
        ),
      );
    }
  }
  draw();
}

function fmtReward(v) {
  if (v === null || v === undefined) return "—";
  return (v >= 0 ? "+" : "") + Number(v).toFixed(3);
}

function trendTag(t) {
  const d = t.direction;
  const cls = d === "improving" ? "good" : d === "declining" ? "warn" : "";
  return tag(d.replace("_", " "), cls);
}

function convText(c) {
  if (c.converged === true) return "yes";
  if (c.converged === false) return "no";
  return "too few samples";
}

function convergedTag(a) {
  const done = Object.entries(a.convergence).filter(([, c]) => c.converged === true).map(([m]) => m);
  const notYet = Object.entries(a.convergence).filter(([, c]) => c.converged === false).map(([m]) => m);
  if (done.length) return tag(done.join(", "), "good");
  if (notYet.length) return tag("not yet", "warn");
  return h("span", { class: "muted" }, "—");
}
