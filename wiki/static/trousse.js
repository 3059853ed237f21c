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

// On the conflict screen, the editor opens scrolled to the first conflict marker,
// with the cursor on it, however far down the page it is.
document.addEventListener("DOMContentLoaded", function () {
  var editor = document.querySelector(".banner-conflict") && document.getElementById("markdown");
  if (!editor) return;
  var text = editor.value;
  var at = text.indexOf("<<<<<<<");
  if (at < 0) return;
  editor.value = text.slice(0, at);
  var above = editor.scrollHeight;  // the height of the text before the marker (at least the box's height)
  editor.value = text;
  if (above > editor.clientHeight) editor.scrollTop = above - editor.clientHeight / 3;
  editor.setSelectionRange(at, at);
});
