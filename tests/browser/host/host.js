// Test-only MCP Apps host: renders the board in a sandboxed iframe through the ext-apps AppBridge and
// forwards the app's tools/call requests to the Python test (window.mcpCall, a Playwright binding that
// calls the real server session on the sandbox). Bundled by `node app/build.mjs --host FILE`.
//
// Order, as a real host does it: the first host context goes in with the bridge (the app reads it from its
// ui/initialize answer); setHostContext, which notifies the app, is only called once the bridge is connected.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

function hostContext({ theme, variables, toolName, width }) {
  return {
    theme,
    styles: { variables },
    displayMode: "inline",
    platform: "web",
    containerDimensions: { maxHeight: 4000, width },
    toolInfo: { tool: { name: toolName, inputSchema: { type: "object" } } },
  };
}

window.startHost = async (args) => {
  const { html, theme, width } = args;
  const slot = document.getElementById("slot");
  slot.style.width = `${width}px`;
  document.body.dataset.theme = theme;
  const iframe = document.createElement("iframe");
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.title = "Mixpeek task board";
  iframe.style.cssText = "border:0;width:100%;height:120px;display:block";
  iframe.srcdoc = html;
  slot.replaceChildren(iframe);
  let context = hostContext(args);
  const bridge = new AppBridge(null, { name: "playwright-host", version: "1.0.0" }, { serverTools: {}, logging: {} }, { hostContext: context });
  window.appCalls = [];
  bridge.oncalltool = async (params) => {
    window.appCalls.push(params);
    return window.mcpCall("tools/call", params);
  };
  bridge.onsizechange = ({ height }) => {
    if (height) iframe.style.height = `${height}px`;
  };
  const initialized = new Promise((resolve) => (bridge.oninitialized = resolve));
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  await initialized;
  window.bridge = bridge;
  // A host resizing its container: the slot's width and the context's containerDimensions change together.
  window.resizeHost = (newWidth) => {
    slot.style.width = `${newWidth}px`;
    context = { ...context, containerDimensions: { ...context.containerDimensions, width: newWidth } };
    bridge.setHostContext(context);
  };
};
