// DOM building for the three views. Every text from the API goes through text nodes (never innerHTML):
// error texts, ids and signatures are data, whatever markup they contain.

/** h("td", {class: "x"}, "text", node, ...): an element; strings become text nodes, null/false are skipped. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "onclick") el.addEventListener("click", value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const CLASS_OF_STATUS = {
  COMPLETED: "success",
  COMPLETED_WITH_ERRORS: "partial",
  FAILED: "failure",
  CANCELED: "failure",
  INTERRUPTED: "failure",
  PENDING: "active",
  QUEUED: "active",
  IN_PROGRESS: "active",
  PROCESSING: "active",
};

export function statusClass(status, given) {
  return given || CLASS_OF_STATUS[status] || "stalled";
}

export function chip(label, kind, count) {
  return h("span", { class: `chip chip-${kind}` }, label, count !== undefined ? h("b", {}, ` ${count}`) : null);
}

/** Fraction done from a tier "c/t" (or 1 once final); null when unknown. */
export function tierFraction(row) {
  if (!row) return null;
  const kind = statusClass(row.status, row.status_class);
  if (kind === "success" || kind === "partial") return 1;
  const match = /^(\d+)\/(\d+)$/.exec(row.tier || "");
  if (!match || Number(match[2]) <= 0) return null;
  // "c/t" names the tier being worked on (1-based; 0 = not started): c - 1 tiers are done.
  return Math.min(1, Math.max(0, Number(match[1]) - 1) / Number(match[2]));
}

/** A labelled progress bar; fraction null draws an indeterminate one. */
export function bar(fraction, label, kind, text) {
  const attrs = { class: `bar bar-${kind}`, role: "progressbar", "aria-label": label, "aria-valuemin": 0, "aria-valuemax": 100 };
  const fill = h("span", { class: "fill" });
  if (fraction === null) {
    attrs.class += " indeterminate";
  } else {
    const pct = Math.round(fraction * 100);
    attrs["aria-valuenow"] = pct;
    attrs["aria-valuetext"] = text || `${pct}%`;
    fill.style.width = `${pct}%`;
  }
  return h("span", { class: "barline" }, h("span", attrs, fill), text ? h("span", { class: "bartext" }, text) : null);
}

export function shortId(id) {
  return id && id.length > 13 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id || "";
}

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toISOString().replace("T", " ").slice(0, 16);
}

export function table(caption, headers, rows, extraClass) {
  return h(
    "div",
    { class: "tablewrap" },
    h(
      "table",
      { class: extraClass || "" },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map(([label, cls]) => h("th", { scope: "col", class: cls }, label)))),
      h("tbody", {}, rows),
    ),
  );
}

/** The task table of a list_tasks page. */
export function taskTable(result, caption) {
  const headers = [["Task"], ["Type", "wide"], ["Status"], ["Progress"], ["Objects", "num wide"], ["Created", "wide"]];
  const rows = [];
  for (const task of result.tasks || []) {
    const kind = statusClass(task.status, task.status_class);
    const where = [task.batch_id && `batch ${task.batch_id}`, task.bucket_id && `bucket ${task.bucket_id}`].filter(Boolean);
    rows.push(
      h(
        "tr",
        { "data-task-id": task.task_id },
        h("th", { scope: "row", class: "id" }, h("code", { title: task.task_id }, task.task_id), where.length ? h("div", { class: "muted small" }, where.join(" · ")) : null),
        h("td", { class: "wide small" }, task.task_type),
        h("td", {}, chip(task.status, kind)),
        h("td", {}, task.tier ? bar(tierFraction(task), `Tier progress of ${task.task_id}`, kind, `tier ${task.tier}`) : h("span", { class: "muted" }, "—")),
        h("td", { class: "num wide" }, task.object_count ?? "—"),
        h("td", { class: "wide small" }, when(task.created_at)),
      ),
    );
    if (task.error) {
      rows.push(
        h("tr", { class: "errrow" }, h("td", { colspan: 6 }, h("span", { class: "errlabel" }, "Error: "), h("span", { class: "errtext" }, task.error))),
      );
    }
  }
  return table(caption, headers, rows, "tasks");
}
