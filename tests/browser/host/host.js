// Test-only MCP Apps host: renders the board in a sandboxed iframe through the ext-apps AppBridge and
// forwards the app's tools/call requests to the Python test (window.mcpCall, a Playwright binding that
// calls the real server session on the sandbox). Bundled by `node app/build.mjs --host FILE`.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

window.startHost = async ({ html, theme, variables, toolName, width }) => {
  const slot = document.getElementById("slot");
  slot.style.width = `${width}px`;
  document.body.dataset.theme = theme;
  const iframe = document.createElement("iframe");
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.title = "Mixpeek task board";
  iframe.style.cssText = "border:0;width:100%;height:120px;display:block";
  iframe.srcdoc = html;
  slot.replaceChildren(iframe);
  const bridge = new AppBridge(null, { name: "playwright-host", version: "1.0.0" }, { serverTools: {}, logging: {} });
  window.appCalls = [];
  bridge.oncalltool = async (params) => {
    window.appCalls.push(params);
    return window.mcpCall("tools/call", params);
  };
  bridge.onsizechange = ({ height }) => {
    if (height) iframe.style.height = `${height}px`;
  };
  bridge.setHostContext({
    theme,
    styles: { variables },
    displayMode: "inline",
    platform: "web",
    containerDimensions: { maxHeight: 4000, width },
    toolInfo: { tool: { name: toolName, inputSchema: { type: "object" } } },
  });
  const initialized = new Promise((resolve) => (bridge.oninitialized = resolve));
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  await initialized;
  window.bridge = bridge;
};
