import { render } from "preact";
import { createBackend } from "./backend";
import { App } from "./ui/App";
import "./styles.css";

const root = document.getElementById("app");
if (!root) throw new Error("index.html has no #app element");

createBackend().then(
  (backend) => render(<App backend={backend} />, root),
  (error: unknown) => {
    root.textContent = `The app could not start: ${error instanceof Error ? error.message : String(error)}`;
  },
);
