// Initialises every [data-chart] element from the JSON options embedded with json_script.
import * as echarts from "echarts";

// A chart drawn while its box was hidden or still opening (a dialog, a collapsed panel) follows its box's size.
const observed = new WeakSet();
const resizer = typeof ResizeObserver === "undefined" ? null : new ResizeObserver((entries) => {
  entries.forEach((entry) => echarts.getInstanceByDom(entry.target)?.resize());
});

function initCharts(root) {
  root.querySelectorAll("[data-chart]").forEach((el) => {
    const source = document.getElementById(el.dataset.chart);
    if (!source) return;
    const chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "svg" });
    chart.setOption(JSON.parse(source.textContent));
    if (resizer && !observed.has(el)) {
      observed.add(el);
      resizer.observe(el);
    }
    // A data item carrying `url` (a KPI figure) opens the records behind it when clicked.
    chart.off("click");
    chart.on("click", (params) => {
      const url = params.data && params.data.url;
      if (typeof url === "string" && url.startsWith("/")) window.location.assign(url);
    });
  });
}

document.addEventListener("DOMContentLoaded", () => initCharts(document));
document.addEventListener("htmx:afterSwap", (event) => initCharts(event.target));
window.addEventListener("resize", () => {
  document.querySelectorAll("[data-chart]").forEach((el) => echarts.getInstanceByDom(el)?.resize());
});
