import { render } from "preact";
import { createBackend } from "./backend";
import { App } from "./ui/App";
import "./styles.css";

const root = document.getElementById("app");
if (!root) throw new Error("index.html has no #app element");

createBackend().then(
  (backend) => {
    render(<App backend={backend} />, root);
    // The first frame with the app in it, once painted (a timeout set in a frame
    // callback runs after that frame): start-up is measured to here, since
    // WebKitGTK does not report paint timing.
    requestAnimationFrame(() => setTimeout(() => performance.mark("timesheets:first-paint")));
  },
  (error: unknown) => {
    root.textContent = `The app could not start: ${error instanceof Error ? error.message : String(error)}`;
  },
);
