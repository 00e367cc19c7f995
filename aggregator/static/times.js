// Post times on static pages: the page prints the absolute time (it never goes stale);
// this adds the age as the reader sees it ("3 hours ago", "il y a 3 heures").
(function () {
  var d = document, lang = d.documentElement.lang === "fr" ? "fr" : "en";
  if (!window.Intl || !Intl.RelativeTimeFormat) return;
  var rf = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  d.querySelectorAll("time[data-age]").forEach(function (t) {
    var s = Math.min(0, (new Date(t.getAttribute("datetime")) - Date.now()) / 1e3), a = Math.abs(s);
    if (isNaN(s)) return;
    var u = a < 3600 ? [60, "minute"] : a < 86400 ? [3600, "hour"] : a < 2592000 ? [86400, "day"]
      : a < 31536000 ? [2592000, "month"] : [31536000, "year"];
    t.textContent = rf.format(Math.round(s / u[0]), u[1]) + " · " + t.textContent;
  });
})();
