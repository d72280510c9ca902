// Roadside rescue pages (no inline script: CSP).
// 1. Clocks: every [data-due] element counts down to its ISO time each second (mm:ss, "+mm:ss" once past).
// 2. The customer's request page: the browser's location is asked only when the consent box is ticked.
(function () {
  function pad(n) { return String(n).padStart(2, "0"); }
  function tick() {
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      var left = Math.round((due - Date.now()) / 1000);
      var sign = left < 0 ? "+" : "";
      left = Math.abs(left);
      el.textContent = sign + pad(Math.floor(left / 60)) + ":" + pad(left % 60);
      el.classList.toggle("text-danger", sign === "+");
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);

  function locate(box) {
    var form = box.form;
    var status = form.querySelector("[data-geo-status]");
    var lat = form.querySelector("input[name=latitude]");
    var lon = form.querySelector("input[name=longitude]");
    if (!box.checked) {
      lat.value = ""; lon.value = "";
      if (status) status.textContent = "";
      return;
    }
    if (!navigator.geolocation) {
      if (status) status.textContent = status.getAttribute("data-unavailable");
      return;
    }
    if (status) status.textContent = status.getAttribute("data-asking");
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
        if (status) status.textContent = status.getAttribute("data-found");
      },
      function () {
        lat.value = ""; lon.value = "";
        if (status) status.textContent = status.getAttribute("data-unavailable");
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("input[data-geo-consent]")) locate(event.target);
  });
})();
