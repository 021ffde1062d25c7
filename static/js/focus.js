// After htmx swapped in new content, move the focus to what a person must read first: the
// error summary of a form sent back with its errors, or a panel that reports what was just done.
// On a full page load the browser does this by `autofocus`; content swapped in is not a page load.
// Listens on `htmx:afterSwap`, fired on each element swapped in (the new one, for an outerHTML swap).
document.addEventListener("htmx:afterSwap", function (event) {
  var root = event.target;
  if (!root || !root.querySelector) {
    return;
  }
  var wanted = ".error-summary, [data-focus-after-swap]";
  var target = root.matches(wanted) ? root : root.querySelector(wanted);
  if (target) {
    target.focus();
  }
});
