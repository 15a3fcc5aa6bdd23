// Starts Swagger UI on /docs over /openapi.json. A file, not an inline script,
// so the page's CSP can forbid inline code. No validator badge: it would call
// a remote service.
"use strict";

window.addEventListener("load", () => {
  window.ui = window.SwaggerUIBundle({
    url: new URL("/openapi.json", window.location.href).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
  });
});
