// Small conveniences; everything works without JavaScript.
document.addEventListener("keydown", function (event) {
  // "/" focuses the search box unless the user is typing somewhere.
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  var target = event.target;
  var tag = target && target.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
  var box = document.getElementById("site-search");
  if (box) { event.preventDefault(); box.focus(); box.select(); }
});
