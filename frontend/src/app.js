// The web shell: htmx (with the CSRF token sent on every request) and small page behaviours.
import htmx from "htmx.org";

window.htmx = htmx;

document.addEventListener("htmx:configRequest", (event) => {
  const token = document.querySelector('meta[name="csrf-token"]');
  if (token) event.detail.headers["X-CSRFToken"] = token.content;
});

// Forms marked data-autosubmit submit when a field changes (the store switcher, filters).
document.addEventListener("change", (event) => {
  const form = event.target.closest("form[data-autosubmit]");
  if (form) form.requestSubmit();
});
