// The Mixpeek task board: renders list_tasks, triage_tasks and wait_for_task results (tool input and
// structuredContent from the host), pages through list_tasks and follows running waits through the host.
import { App, applyDocumentTheme, applyHostStyleVariables } from "@modelcontextprotocol/ext-apps";
import { ago, bar, breakable, chip, h, statusClass, table, taskId, taskTable, tierFraction, when } from "./render.js";

const FOLLOW_BUDGET_SECONDS = 3; // each follow-up wait_for_task joins the server's shared poller for this long
const FOLLOW_SELECTION_BUDGET_SECONDS = 10; // selection waits list tasks on every call: call less often
const FOLLOW_MAX_MS = 15 * 60 * 1000;

const board = document.getElementById("board");
const statusLine = document.getElementById("status");
const embedded = window.parent !== window;
const app = embedded ? new App({ name: "mixpeek-tasks-board", version: "0.1.0" }, {}, { autoResize: true }) : null;

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
    result.tasks.length ? taskTable(result, `Mixpeek tasks, ${range.toLowerCase()}`, announce) : null,
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
        Object.entries(group.task_types || {}).map(([type, n]) => h("span", { class: "tag" }, breakable(`${type} ${n}`))),
      ),
      places.length ? h("p", { class: "small where" }, h("span", { class: "muted" }, "Affected: "), breakable(places.join(" · "))) : null,
      group.failed_documents !== undefined && group.failed_documents !== null
        ? h("p", { class: "small" }, h("span", { class: "muted" }, "Documents: "), `${group.failed_documents}${group.documents_of ? ` of ${group.documents_of}` : ""} failed`)
        : null,
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
      h("th", { scope: "row", class: "id" }, taskId(task.task_id, announce)),
      h("td", {}, chip(task.status, "active")),
      h("td", { class: "small" }, task.reason),
    ),
  );
  show(
    h("header", {}, h("h1", {}, `Triage: ${result.with_error} with errors in ${groups.length + (result.more_groups || 0)} groups`), h("p", { class: "muted small" }, result.coverage)),
    result.upstream_error ? errorBox(result.upstream_error) : null,
    h("ol", { class: "groups", "aria-label": "Error groups, largest first" }, items),
    result.more_groups ? h("p", { class: "muted small" }, `${result.more_groups} smaller groups (${result.more_groups_tasks} tasks) not shown`) : null,
    result.canceled_without_error
      ? h(
          "p",
          { class: "muted small", "data-role": "canceled" },
          `${result.canceled_without_error} canceled, no error given (not a failure cause) `,
          result.canceled_list_call ? h("button", { type: "button", "data-action": "show-canceled", onclick: () => navigate("list_tasks", result.canceled_list_call) }, "Show them") : null,
        )
      : null,
    stuck.length ? table(`Active tasks that look stuck (${result.stuck_count})`, [["Task"], ["Status"], ["Why"]], stuck) : null,
    result.stuck_note ? h("p", { class: "muted small" }, result.stuck_note) : null,
  );
  announce(`Triage with ${groups.length} error groups shown`);
}

// ---- wait ----------------------------------------------------------------------------------------------
const OUTCOME_KIND = { success: "success", all_finished: "success", none_active: "success", any_finished: "success", partial: "partial", failure: "failure", not_found: "failure", stalled: "stalled", reached: "success", timed_out: "active", running: "active" };

// When each call started, by this page's clock: a result's waited_seconds back from when it arrived.
function callStartedAt(result) {
  return Date.now() - (Number(result.waited_seconds) || 0) * 1000;
}

/** The first call that saw a task finished decides its "finished" text; later calls only see it again. */
function mergeLine(line, startedAt) {
  const known = state.lines.get(line.task_id);
  if (known && known.outcome !== "running") return;
  const entry = { ...line, seenRunning: Boolean(known?.seenRunning || known?.task || (line.outcome === "running" && line.task)) };
  if (line.outcome !== "running") entry.seenAt = startedAt + (seenAfter(line) ?? 0) * 1000;
  entry.callStartedAt = startedAt;
  state.lines.set(line.task_id, entry);
}

function seenAfter(line) {
  const value = line.seen_after_seconds ?? line.finished_after_seconds;
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function mergeWait(result) {
  const startedAt = callStartedAt(result);
  if (result.task) {
    mergeLine(
      {
        task_id: result.task.task_id,
        outcome: result.finished ? result.outcome : "running",
        task: result.task,
        finished_at: result.finished_at,
        seen_after_seconds: result.seen_after_seconds,
      },
      startedAt,
    );
  }
  for (const line of result.tasks || []) mergeLine(line, startedAt);
}

/** "finished 10 min ago" (before this wait began, by the API's finish time) or "finished during this wait (seen
 * within 2 s)"; without a finish time from the API, only when this wait saw it. */
function finishText(line, now = Date.now()) {
  if (line.outcome === "running") return null;
  const finished = line.finished_at ? Date.parse(line.finished_at) : NaN;
  const seen = seenAfter(line);
  if (!Number.isNaN(finished)) {
    const before = !line.seenRunning && finished < (line.callStartedAt ?? now) - 1000;
    if (before) return `finished ${ago(now - finished)}`;
    const within = line.seenAt !== undefined ? Math.max(1, Math.ceil((line.seenAt - finished) / 1000)) : null;
    return `finished during this wait${within !== null ? ` (seen within ${within} s)` : ""}`;
  }
  if (seen !== null) return `seen finished ${seen} s into this wait (the API gives no finish time)`;
  return null;
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
      h("th", { scope: "row", class: "id" }, taskId(line.task_id, announce)),
      h("td", {}, task.status ? chip(task.status, statusClass(task.status, task.status_class)) : chip(line.outcome, kind)),
      h("td", { class: "progress" }, bar(fraction, `Progress of ${line.task_id}`, kind, label)),
      h(
        "td",
        { class: "small outcome" },
        line.outcome,
        finishText(line) ? h("span", { class: "finished muted" }, ` · ${finishText(line)}`) : null,
        line.error || task.error ? h("div", { class: "errtext" }, line.error || task.error) : null,
      ),
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
  if (kind !== "wait_for_task") stopFollowing(); // the board shows something else now: stop polling for it
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

function outsideHost() {
  show(
    h("header", {}, h("h1", {}, "Mixpeek task board")),
    h(
      "p",
      { "data-role": "needs-host" },
      "This board needs an MCP Apps host (Claude, Claude Desktop, ChatGPT, VS Code, Goose): it shows the results of the ",
      "mixpeek-tasks MCP server's list_tasks, triage_tasks and wait_for_task tools there. Opened on its own, it has nothing to show.",
    ),
  );
  announce("This board needs an MCP Apps host");
}

function wire() {
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

  app.connect().then(
    () => applyContext(app.getHostContext()),
    (error) => {
      show(h("header", {}, h("h1", {}, "Mixpeek task board")), errorBox(`Could not connect to the MCP Apps host: ${error?.message || error}`));
    },
  );
}

if (app) wire();
else outsideHost();
