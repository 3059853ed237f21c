// The conflict page: each passage's buttons fill its text box at once.
// Without JavaScript the same form works: the server reads the buttons and the boxes.
// What the author typed in a box is remembered, and comes back with "Write it myself".
(function () {
  "use strict";

  function lineEnded(text) {
    return text === "" || text.slice(-1) === "\n" ? text : text + "\n";
  }

  function textFor(choice, yours, theirs) {
    if (choice === "theirs") return theirs;
    if (choice === "both") return theirs ? lineEnded(theirs) + yours : yours;
    return yours;
  }

  function setUp(passage) {
    var number = passage.getAttribute("data-passage");
    var box = document.getElementById("text-" + number);
    var yours = document.getElementById("yours-" + number);
    var theirs = document.getElementById("theirs-" + number);
    if (!box || !yours || !theirs) return;
    var written = null;  // the author's own text for this passage, once they type
    var buttons = passage.querySelectorAll("input[type=radio][name='choice-" + number + "']");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("change", function () {
        if (!button.checked) return;
        if (button.value === "edit") {
          if (written !== null) box.value = written;
          box.focus();
          return;
        }
        box.value = textFor(button.value, yours.textContent, theirs.textContent);
      });
    });
    box.addEventListener("input", function () {
      written = box.value;
      var edit = passage.querySelector("input[type=radio][value=edit]");
      if (edit && !edit.checked) edit.checked = true;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".conflict-passage[data-passage]"), setUp);
  });
})();
