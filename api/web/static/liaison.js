// Times are rendered in UTC by the server (kept in the title); this shows them in the viewer's time zone.
function liaisonLocalTimes(root) {
  root.querySelectorAll("time[datetime]").forEach(function (el) {
    var moment = new Date(el.getAttribute("datetime"));
    if (!isNaN(moment)) {
      el.textContent = moment.toLocaleString(document.documentElement.lang || undefined,
        { dateStyle: "medium", timeStyle: "short" });
    }
  });
}
document.addEventListener("DOMContentLoaded", function () { liaisonLocalTimes(document); });
document.addEventListener("htmx:afterSettle", function (event) { liaisonLocalTimes(event.target); });
