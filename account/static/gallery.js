// The gallery: loads the next tiles when "Older photos" comes into view,
// counts the ticked photos, says when the photos do not load, and steps
// through photos with the arrow keys.
// Without it the pages work the same, a page at a time.
(function () {
  var grid = document.getElementById("grid");
  var form = document.getElementById("selection");

  // The day of the last header in the grid, so that a page that goes on
  // with the same day does not repeat its header.
  function lastDay() {
    var heads = grid.querySelectorAll("h2.day");
    return heads.length ? heads[heads.length - 1].getAttribute("data-day") : null;
  }

  var loading = false;
  function load(link) {
    if (loading) return;
    loading = true;
    link.textContent = "Loading…";
    fetch(link.getAttribute("data-fragment"), { credentials: "same-origin" }).then(function (res) {
      if (!res.ok || res.redirected) throw new Error("status " + res.status);
      return res.text();
    }).then(function (html) {
      var t = document.createElement("template");
      t.innerHTML = html;
      var tiles = t.content.querySelector(".grid");
      var first = tiles && tiles.firstElementChild;
      if (first && first.classList.contains("dayhead") &&
          first.querySelector("h2.day").getAttribute("data-day") === lastDay()) {
        tiles.removeChild(first);
      }
      while (tiles && tiles.firstChild) grid.appendChild(tiles.firstChild);
      var pager = link.parentNode;
      var next = t.content.querySelector("p.pager");
      if (next) pager.parentNode.replaceChild(next, pager); else pager.parentNode.removeChild(pager);
      loading = false;
      watch();
    }).catch(function () {
      window.location.href = link.href; // the page without the script
    });
  }

  var observer = null;
  if ("IntersectionObserver" in window) {
    observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) {
          observer.unobserve(e.target);
          load(e.target);
        }
      });
    }, { rootMargin: "600px 0px" });
  }

  function watch() {
    var link = document.querySelector("a.more[data-fragment]");
    if (!link) return;
    link.addEventListener("click", function (ev) {
      ev.preventDefault();
      load(link);
    });
    if (observer) observer.observe(link);
  }

  function count() {
    var n = form.querySelectorAll('input[name="key"]:checked').length;
    document.getElementById("selected").textContent =
      n === 0 ? "Tick photos to download them, or" : n === 1 ? "1 selected" : n + " selected";
    form.classList.toggle("picking", n > 0);
  }

  // When the tiles' images do not load although the service answered, the
  // storage they come from is likely out of this browser's reach (a
  // private address, a firewall): say so once, where it is.
  var failed = 0;
  function imageFailed(ev) {
    if (ev.target.tagName !== "IMG" || ++failed !== 3 || document.getElementById("storage-down")) return;
    var p = document.createElement("p");
    p.className = "error";
    p.id = "photos-not-loading";
    p.setAttribute("role", "alert");
    p.textContent = "Photos are not loading: the storage at " + (grid.getAttribute("data-storage") || "its address") +
      " may not be reachable from this browser.";
    form.parentNode.insertBefore(p, form);
  }

  if (grid && form) {
    grid.addEventListener("error", imageFailed, true); // error does not bubble: caught on its way down
    form.classList.add("js");
    watch();
    form.addEventListener("change", count);
    count();
  }

  // On a photo's page, ← and → step to the newer and the older one.
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey || /INPUT|SELECT|TEXTAREA|VIDEO/.test(ev.target.tagName)) return;
    var a = ev.key === "ArrowLeft" ? document.getElementById("newer") :
      ev.key === "ArrowRight" ? document.getElementById("older") : null;
    if (a) window.location.href = a.href;
  });
})();
