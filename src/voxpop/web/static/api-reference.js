// Starts the vendored Swagger UI on the staff API reference page (a file, because the CSP forbids inline scripts).
(function () {
  var root = document.getElementById("api-reference");
  if (!root || typeof SwaggerUIBundle !== "function") { return; }
  root.textContent = "";
  SwaggerUIBundle({ url: root.getAttribute("data-spec"), domNode: root, deepLinking: false, tryItOutEnabled: false });
}());
