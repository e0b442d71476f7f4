// The function file of the Outlook add-in (commands.html). It has no
// command of its own any more: the Send sikkert button opens the task pane
// (taskpane.html?send=1), so the clerk sees every recipient's name and
// channel before anything is sent. The page stays as the host of the Smart
// Alert (launchevent.js) in new Outlook and Outlook on the web.
Office.onReady(() => {});
