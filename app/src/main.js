// The Mixpeek task board: renders list_tasks, triage_tasks and wait_for_task results (tool input and
// structuredContent from the host), pages through list_tasks and follows running waits through the host.
import { App, applyDocumentTheme, applyHostStyleVariables } from "@modelcontextprotocol/ext-apps";
import { bar, chip, h, shortId, statusClass, table, taskTable, tierFraction, when } from "./render.js";

const FOLLOW_BUDGET_SECONDS = 3; // each follow-up wait_for_task joins the server's shared poller for this long
const FOLLOW_SELECTION_BUDGET_SECONDS = 10; // selection waits list tasks on every call: call less often
const FOLLOW_MAX_MS = 15 * 60 * 1000;

const board = document.getElementById("board");
const statusLine = document.getElementById("status");
const app = new App({ name: "mixpeek-tasks-board", version: "0.1.0" }, {}, { autoResize: true });

const state = { tool: null, input: null, history: [], follow: null, lines: new Map() };

function announce(text) {
  statusLine.textContent = text;
}

function show(...nodes) {
  board.replaceChildren(...nodes.filter(Boolean));
  board.setAttribute("aria-busy", "false");
}

function kindOf(result) {
  if (!result || typeof result !== "object") return null;
  if (result.pagination) return "list_tasks";
  if (Array.isArray(result.groups)) return "triage_tasks";
  if ("outcome" in result && "polls" in result) return "wait_for_task";
  return null;
}

function toolName() {
  return state.tool || app.getHostContext()?.toolInfo?.tool?.name || null;
}

function textOf(result) {
  return (result?.content || []).filter((block) => block.type === "text").map((block) => block.text).join("\n");
}

async function callTool(name, args) {
  if (!app.getHostCapabilities()?.serverTools) throw new Error("this host does not let apps call tools");
  return app.callServerTool({ name, arguments: args });
}

function errorBox(text) {
  return h("div", { class: "alert", role: "alert" }, h("pre", {}, text));
}

// ---- list ----------------------------------------------------------------------------------------------
function renderList(result, args) {
  const page = result.pagination || {};
  const first = (page.offset ?? 0) + 1;
  const last = (page.offset ?? 0) + (page.returned ?? result.tasks.length);
  const of = page.total !== undefined && page.total !== null ? ` of ${page.total}` : "";
  const range = result.tasks.length ? `Tasks ${first}–${last}${of}` : `No tasks${of ? ` (${of.trim()})` : ""}`;
  const counts = Object.entries(result.status_counts || {}).map(([status, n]) => chip(status, statusClass(status), n));
  const buttons = [];
  if (state.history.length) {
    buttons.push(h("button", { type: "button", onclick: back }, "← Back"));
  }
  if (result.next_call) {
    buttons.push(
      h("button", { type: "button", class: "primary", "data-action": "next-page", onclick: () => navigate("list_tasks", result.next_call) }, "Next page →"),
    );
  }
  show(
    h("header", {}, h("h1", {}, range), describeArgs(args)),
    counts.length ? h("p", { class: "chips", "aria-label": "Status counts on this page" }, counts) : null,
    result.tasks.length ? taskTable(result, `Mixpeek tasks, ${range.toLowerCase()}`) : null,
    buttons.length ? h("nav", { class: "actions", "aria-label": "Pages" }, buttons) : null,
  );
  announce(`${range} shown`);
}

function describeArgs(args) {
  const parts = Object.entries(args || {})
    .filter(([key]) => !["limit", "offset", "cursor", "timeout_seconds", "max_tasks"].includes(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  return parts.length ? h("p", { class: "muted small" }, parts.join(" · ")) : null;
}

async function navigate(name, args) {
  state.history.push({ tool: state.tool, input: state.input, result: state.result });
  board.setAttribute("aria-busy", "true");
  for (const button of board.querySelectorAll("button")) button.disabled = true;
  announce(`Loading ${name}…`);
  try {
    const result = await callTool(name, args);
    state.tool = name;
    state.input = args;
    handleResult(result);
  } catch (error) {
    state.history.pop();
    board.append(errorBox(`${name} failed: ${error?.message || error}`));
    for (const button of board.querySelectorAll("button")) button.disabled = false;
  }
}

function back() {
  const previous = state.history.pop();
  if (!previous) return;
  state.tool = previous.tool;
  state.input = previous.input;
  handleResult(previous.result);
}

// ---- triage --------------------------------------------------------------------------------------------
function renderTriage(result) {
  const groups = result.groups || [];
  const largest = Math.max(1, ...groups.map((group) => group.count));
  const items = groups.map((group, index) => {
    const sharePct = Math.round((group.share || 0) * 1000) / 10;
    const places = [
      ...(group.buckets || []).map((b) => `bucket ${b.id} (${b.tasks})`),
      ...(group.batches || []).map((b) => `batch ${b.id} (${b.tasks})`),
    ];
    return h(
      "li",
      { class: "group" },
      h("h2", { id: `group-${index}` }, h("code", {}, group.signature)),
      bar(group.count / largest, `Tasks in group ${index + 1}`, "failure", `${group.count} tasks · ${sharePct}%`),
      h(
        "p",
        { class: "chips" },
        Object.entries(group.statuses || {}).map(([status, n]) => chip(status, statusClass(status), n)),
        Object.entries(group.task_types || {}).map(([type, n]) => h("span", { class: "tag" }, `${type} ${n}`)),
      ),
      places.length ? h("p", { class: "small" }, h("span", { class: "muted" }, "Affected: "), places.join(" · ")) : null,
      h("p", { class: "small" }, h("span", { class: "muted" }, "Sample error: "), h("span", { class: "errtext" }, group.sample_error)),
      group.first_seen ? h("p", { class: "muted small" }, `first ${when(group.first_seen)} · last ${when(group.last_seen)}`) : null,
      group.list_call
        ? h("button", { type: "button", "data-action": "show-tasks", "aria-describedby": `group-${index}`, onclick: () => navigate("list_tasks", group.list_call) }, "Show these tasks")
        : null,
    );
  });
  const stuck = (result.stuck || []).map((task) =>
    h(
      "tr",
      {},
      h("th", { scope: "row", class: "id" }, h("code", { title: task.task_id }, shortId(task.task_id))),
      h("td", {}, chip(task.status, "active")),
      h("td", { class: "small" }, task.reason),
    ),
  );
  show(
    h("header", {}, h("h1", {}, `Triage: ${result.with_error} with errors in ${groups.length + (result.more_groups || 0)} groups`), h("p", { class: "muted small" }, result.coverage)),
    result.upstream_error ? errorBox(result.upstream_error) : null,
    h("ol", { class: "groups", "aria-label": "Error groups, largest first" }, items),
    result.more_groups ? h("p", { class: "muted small" }, `${result.more_groups} smaller groups (${result.more_groups_tasks} tasks) not shown`) : null,
    stuck.length ? table(`Active tasks that look stuck (${result.stuck_count})`, [["Task"], ["Status"], ["Why"]], stuck) : null,
    result.stuck_note ? h("p", { class: "muted small" }, result.stuck_note) : null,
  );
  announce(`Triage with ${groups.length} error groups shown`);
}

// ---- wait ----------------------------------------------------------------------------------------------
const OUTCOME_KIND = { success: "success", all_finished: "success", none_active: "success", any_finished: "success", partial: "partial", failure: "failure", not_found: "failure", stalled: "stalled", reached: "success", timed_out: "active", running: "active" };

function mergeWait(result) {
  if (result.task) {
    state.lines.set(result.task.task_id, { task_id: result.task.task_id, outcome: result.finished ? result.outcome : "running", task: result.task });
  }
  for (const line of result.tasks || []) {
    const known = state.lines.get(line.task_id);
    if (!known || known.outcome === "running" || line.outcome !== "running") state.lines.set(line.task_id, line);
  }
}

function renderWait(result) {
  mergeWait(result);
  const lines = [...state.lines.values()];
  const done = lines.filter((line) => line.outcome !== "running").length;
  const rows = lines.map((line) => {
    const task = line.task || {};
    const kind = line.outcome === "running" ? statusClass(task.status, task.status_class) : OUTCOME_KIND[line.outcome] || "stalled";
    const fraction = line.outcome === "running" ? tierFraction(task) : 1;
    const label = task.tier ? `tier ${task.tier}` : line.outcome === "running" ? "running" : line.outcome;
    return h(
      "tr",
      { "data-task-id": line.task_id },
      h("th", { scope: "row", class: "id" }, h("code", { title: line.task_id }, shortId(line.task_id))),
      h("td", {}, task.status ? chip(task.status, statusClass(task.status, task.status_class)) : chip(line.outcome, kind)),
      h("td", { class: "progress" }, bar(fraction, `Progress of ${line.task_id}`, kind, label)),
      h("td", { class: "small" }, line.outcome, line.finished_after_seconds !== undefined ? ` after ${line.finished_after_seconds} s` : null, line.error || task.error ? h("div", { class: "errtext" }, line.error || task.error) : null),
    );
  });
  const following = state.follow && !result.finished;
  const outcome = result.finished ? result.outcome : following ? "following" : result.outcome;
  const control = following
    ? h("button", { type: "button", onclick: stopFollowing }, "Stop following")
    : !result.finished && result.next_call
      ? h("button", { type: "button", onclick: () => startFollowing(result.next_call) }, "Keep following")
      : null;
  show(
    h(
      "header",
      {},
      h("h1", {}, `Wait: ${done} of ${lines.length} finished`),
      h("p", { class: "chips" }, chip(outcome, OUTCOME_KIND[result.outcome] || "active"), h("span", { class: "muted small" }, ` waited ${result.waited_seconds} s · ${result.polls} polls${result.until ? ` · until ${result.until}` : ""}`)),
    ),
    table("Tasks followed by this wait", [["Task"], ["Status"], ["Progress"], ["Outcome"]], rows, "wait"),
    result.not_followed ? h("p", { class: "muted small" }, `${result.not_followed} more matching active tasks not followed`) : null,
    result.last_error ? h("p", { class: "small" }, h("span", { class: "muted" }, "Last poll failed: "), result.last_error) : null,
    control ? h("nav", { class: "actions" }, control) : null,
  );
  announce(result.finished ? `Wait finished: ${result.outcome}` : `${done} of ${lines.length} finished`);
}

function followArgs(args) {
  const budget = args.task_id || args.task_ids ? FOLLOW_BUDGET_SECONDS : FOLLOW_SELECTION_BUDGET_SECONDS;
  return { ...args, timeout_seconds: budget };
}

function startFollowing(args) {
  stopFollowing();
  if (!app.getHostCapabilities()?.serverTools) return;
  const token = { args };
  state.follow = token;
  const started = Date.now();
  (async () => {
    while (state.follow === token && Date.now() - started < FOLLOW_MAX_MS) {
      let result;
      try {
        result = await callTool("wait_for_task", followArgs(token.args));
      } catch (error) {
        if (state.follow === token) board.append(errorBox(`Following stopped: ${error?.message || error}`));
        break;
      }
      if (state.follow !== token) return;
      if (result.isError || !result.structuredContent) {
        board.append(errorBox(textOf(result) || "wait_for_task failed"));
        break;
      }
      const sc = result.structuredContent;
      if (sc.finished) state.follow = null;
      else if (sc.next_call) token.args = sc.next_call;
      renderWait(sc);
      if (sc.finished) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (state.follow === token) state.follow = null;
  })();
}

function stopFollowing() {
  state.follow = null;
}

// ---- wiring --------------------------------------------------------------------------------------------
function handleResult(result) {
  if (result.isError) {
    stopFollowing();
    show(h("header", {}, h("h1", {}, `${toolName() || "The tool"} returned an error`)), errorBox(textOf(result)));
    return;
  }
  const structured = result.structuredContent;
  const kind = kindOf(structured);
  state.result = result;
  if (kind) state.tool = kind;
  if (kind === "list_tasks") renderList(structured, state.input);
  else if (kind === "triage_tasks") renderTriage(structured);
  else if (kind === "wait_for_task") {
    renderWait(structured);
    if (structured.finished) stopFollowing();
    else if (!state.follow && structured.next_call) startFollowing(structured.next_call);
  } else show(h("pre", { class: "plain" }, textOf(result)));
}

function applyContext(context) {
  if (context?.theme) applyDocumentTheme(context.theme);
  if (context?.styles?.variables) applyHostStyleVariables(context.styles.variables);
  const dims = context?.containerDimensions;
  if (dims?.maxHeight) document.documentElement.style.setProperty("--max-height", `${dims.maxHeight}px`);
}

app.ontoolinput = ({ arguments: args }) => {
  state.input = args || {};
  state.history = [];
  const name = toolName();
  board.setAttribute("aria-busy", "true");
  if (name === "wait_for_task" || (!name && (args?.task_id || args?.task_ids || args?.until))) {
    state.tool = "wait_for_task";
    state.lines = new Map();
    for (const id of args.task_ids || (args.task_id ? [args.task_id] : [])) state.lines.set(id, { task_id: id, outcome: "running" });
    renderWait({ outcome: "running", finished: false, waited_seconds: 0, polls: 0, until: args.until });
    startFollowing(args);
  } else {
    show(h("p", { class: "muted" }, `Running ${name || "the tool"}…`), describeArgs(args));
  }
};
app.ontoolresult = (result) => handleResult(result);
app.ontoolcancelled = () => {
  stopFollowing();
  board.append(h("p", { class: "muted" }, "The call was cancelled."));
};
app.onhostcontextchanged = (context) => applyContext(context);
app.onteardown = async () => {
  stopFollowing();
  return {};
};

app.connect().then(() => applyContext(app.getHostContext()));
