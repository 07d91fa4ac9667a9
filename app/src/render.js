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

/** Text that may break after "_", "/", "." or "-" (COMPLETED_WITH_ERRORS, api_buckets_batches_process, ids) instead
 * of pushing a narrow table wider than its frame. */
export function breakable(text) {
  const parts = String(text ?? "").split(/(?<=[_/.-])/);
  return parts.flatMap((part, index) => (index ? [h("wbr", {}), part] : [part]));
}

export function chip(label, kind, count) {
  return h("span", { class: `chip chip-${kind}` }, breakable(label), count !== undefined ? h("b", {}, ` ${count}`) : null);
}

function clipboardAllowed() {
  const policy = document.permissionsPolicy || document.featurePolicy;
  try {
    return Boolean(navigator.clipboard && policy?.allowsFeature?.("clipboard-write"));
  } catch {
    return false;
  }
}

/** Put ``text`` on the clipboard if this frame may; resolves to whether it did (never rejects). */
async function copyText(text, field) {
  if (clipboardAllowed()) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // fall through to the selection
    }
  }
  try {
    field.focus();
    field.select();
    return document.execCommand("copy");
  } catch {
    return false;
  }
}

/** A task id on one line: shortened, the full id one click away (shown selected and copied when the frame may). */
export function taskId(id, announce) {
  const full = String(id ?? "");
  const cell = h("span", { class: "tidcell" });
  const toggle = h(
    "button",
    { type: "button", class: "tid", title: full, "aria-expanded": "false", "aria-label": `Task ${full}: show and copy the full id` },
    shortId(full),
  );
  toggle.addEventListener("click", async () => {
    const open = cell.querySelector("input.fullid");
    if (open) {
      open.parentElement.remove();
      toggle.setAttribute("aria-expanded", "false");
      return;
    }
    const field = h("input", { class: "fullid", readonly: true, size: 1, value: full, "aria-label": "Full task id", spellcheck: "false" });
    const note = h("span", { class: "copynote muted small", role: "status" });
    cell.append(h("span", { class: "fullidbox" }, field, note));
    toggle.setAttribute("aria-expanded", "true");
    const copied = await copyText(full, field);
    field.focus();
    field.select();
    note.textContent = copied ? "copied" : "selected: press Ctrl+C (⌘C) to copy";
    if (announce) announce(copied ? "Full task id copied" : "Full task id selected");
  });
  cell.prepend(toggle);
  return cell;
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
  return id && id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id || "";
}

/** "10 min ago", "3 h ago", "2 d ago" for a span in milliseconds. */
export function ago(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  return hours < 36 ? `${hours} h ago` : `${Math.round(hours / 24)} d ago`;
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
export function taskTable(result, caption, announce) {
  const headers = [["Task"], ["Type", "wide"], ["Status"], ["Progress"], ["Objects", "num wide"], ["Created", "wide"]];
  const rows = [];
  for (const task of result.tasks || []) {
    const kind = statusClass(task.status, task.status_class);
    const where = [task.batch_id && `batch ${task.batch_id}`, task.bucket_id && `bucket ${task.bucket_id}`].filter(Boolean);
    rows.push(
      h(
        "tr",
        { "data-task-id": task.task_id },
        h("th", { scope: "row", class: "id" }, taskId(task.task_id, announce), where.length ? h("div", { class: "muted small where" }, breakable(where.join(" · "))) : null),
        h("td", { class: "wide small type" }, breakable(task.task_type)),
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
