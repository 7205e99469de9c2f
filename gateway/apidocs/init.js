// Starts Swagger UI on the gateway's own OpenAPI document (kept out of the HTML for CSP).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
