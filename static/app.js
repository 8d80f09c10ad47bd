// Pingyi's staff pages work without JavaScript; this file only adds what a Content-Security-Policy
// forbids inline: buttons marked data-print print the page.
document.addEventListener("click", function (e) {
  var t = e.target instanceof Element ? e.target.closest("[data-print]") : null;
  if (t) { e.preventDefault(); window.print(); }
});
