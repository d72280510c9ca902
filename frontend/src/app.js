// The web shell: htmx (with the CSRF token sent on every request) and small page behaviours.
import htmx from "htmx.org";

window.htmx = htmx;
// Content-Security-Policy: htmx must not add its indicator <style> element (app.css carries the same rules)
// nor evaluate code from attributes (no 'unsafe-eval'; the templates use neither hx-on nor js: values).
htmx.config.includeIndicatorStyles = false;
htmx.config.allowEval = false;

document.addEventListener("htmx:configRequest", (event) => {
  const token = document.querySelector('meta[name="csrf-token"]');
  if (token) event.detail.headers["X-CSRFToken"] = token.content;
});

// Forms marked data-autosubmit submit when a field changes (the store switcher, filters).
document.addEventListener("change", (event) => {
  const form = event.target.closest("form[data-autosubmit]");
  if (form) form.requestSubmit();
});

// Buttons marked data-copy="#id" copy that field's value (e.g. the customer's link on the order page).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.querySelector(button.dataset.copy);
  if (!field) return;
  field.select();
  const done = () => {
    button.dataset.copied = "1";
    button.classList.add("btn-success");
    setTimeout(() => button.classList.remove("btn-success"), 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, () => document.execCommand("copy") && done());
  } else if (document.execCommand("copy")) {
    done();
  }
});

// Parts of a form shown only while a checkbox is ticked (data-shown-by="<checkbox id>").
function syncShownBy(root) {
  root.querySelectorAll("[data-shown-by]").forEach((part) => {
    const box = document.getElementById(part.dataset.shownBy);
    if (box) part.hidden = !box.checked;
  });
}
document.addEventListener("DOMContentLoaded", () => syncShownBy(document));
document.addEventListener("change", (event) => {
  if (event.target.matches("input[type=checkbox]")) syncShownBy(document);
});

// A choice between alternatives on the customer's estimate (data-choice-form, data-base = the approved total):
// picking an option updates "your total if you approve this choice" before anything is sent.
function formatYuan(value) {
  return "¥" + value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
document.addEventListener("change", (event) => {
  const form = event.target.closest("form[data-choice-form]");
  if (!form || !event.target.matches("input[type=radio][data-amount]")) return;
  const preview = form.querySelector("[data-choice-preview]");
  if (preview) preview.textContent = formatYuan(Number(form.dataset.base) + Number(event.target.dataset.amount));
});
