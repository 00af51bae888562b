// The login form is sent with fetch so it can carry X-Requested-With, which the admin listener
// requires on every changing request (a page on another site cannot add it without a CORS
// preflight, which the listener never answers).
"use strict";

const form = document.getElementById("login");
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const button = document.getElementById("sign-in");
  button.disabled = true;
  try {
    const r = await fetch("/ui/login", {
      method: "POST",
      headers: { "X-Requested-With": "s3-orchestrator", "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)).toString(),
      credentials: "same-origin",
      redirect: "manual",
    });
    // 303 to /ui on success (an opaque redirect to fetch); the cookie is set either way it is seen.
    if (r.type === "opaqueredirect" || r.ok) { location.href = "/ui"; return; }
    showError(r.status === 429 ? "Too many attempts; wait a second." : "Wrong admin key or secret.");
  } catch (e) {
    showError("Sign-in failed: " + e);
  } finally {
    button.disabled = false;
  }
});

// The form is ours from here on (a native submit would lack the header and be refused).
document.body.dataset.loginReady = "1";

function showError(text) {
  let p = document.getElementById("login-error");
  if (!p) {
    p = document.createElement("p");
    p.className = "error";
    p.id = "login-error";
    form.insertBefore(p, document.getElementById("admin_key").parentElement);
  }
  p.textContent = text;
}
