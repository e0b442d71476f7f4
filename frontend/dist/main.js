// The window asks the app layer (Wails bindings) for the agent's status;
// it holds no secrets and talks to nothing else.
const el = document.getElementById('status');
async function refresh() {
  try {
    const s = await window.go.app.App.Status();
    el.textContent = s.demo ? 'Send sikkert kører i DEMO-tilstand.' : 'Send sikkert kører.';
  } catch (e) {
    el.textContent = 'Send sikkert-agenten svarer ikke. Start den fra menuen Start.';
  }
}
refresh();
