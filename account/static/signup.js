// The dial code follows the chosen region until the person picks a dial
// code themselves.
(function () {
  var region = document.getElementById("region");
  var dial = document.getElementById("dial_code");
  if (!region || !dial) return;
  var picked = false;
  dial.addEventListener("change", function () { picked = true; });
  region.addEventListener("change", function () {
    var code = region.options[region.selectedIndex].getAttribute("data-dial");
    if (code && !picked) dial.value = code;
  });
})();
