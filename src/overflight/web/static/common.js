/* overflight web: token handling, API calls, formatting and the altitude colour scale. */
"use strict";

const OF = (() => {
  const KEY = "overflight.token";

  // A token given once as ?token= moves into session storage and out of the address bar.
  (function takeTokenFromUrl() {
    const url = new URL(window.location.href);
    const t = url.searchParams.get("token");
    if (t) {
      sessionStorage.setItem(KEY, t);
      url.searchParams.delete("token");
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
  })();

  let asking = null;
  function askToken(message) {
    if (asking) return asking;
    const dialog = document.getElementById("token-dialog");
    const form = document.getElementById("token-form");
    const input = document.getElementById("token-input");
    document.getElementById("token-message").textContent =
      message || "This server needs a token to show data.";
    asking = new Promise((resolve) => {
      form.addEventListener(
        "submit",
        () => {
          sessionStorage.setItem(KEY, input.value.trim());
          input.value = "";
          asking = null;
          resolve();
        },
        { once: true }
      );
      if (!dialog.open) dialog.showModal();
    });
    return asking;
  }

  async function api(path, options = {}) {
    for (;;) {
      const token = sessionStorage.getItem(KEY);
      if (!token) {
        await askToken();
        continue;
      }
      const headers = Object.assign({}, options.headers || {}, {
        Authorization: "Bearer " + token,
      });
      const res = await fetch(path, Object.assign({}, options, { headers }));
      let body = null;
      try {
        body = await res.json();
      } catch (e) {
        body = { ok: false, error: res.statusText, status: res.status };
      }
      if (res.status === 401) {
        sessionStorage.removeItem(KEY);
        await askToken("The server refused the token (" + body.error + "). Enter another.");
        continue;
      }
      if (!res.ok) {
        const err = new Error(body.error || res.statusText);
        err.status = res.status;
        throw err;
      }
      return body;
    }
  }

  function signOut() {
    sessionStorage.removeItem(KEY);
    window.location.reload();
  }

  let noticeTimer = null;
  function notice(text, ms = 6000) {
    const el = document.getElementById("notice");
    el.textContent = text;
    el.classList.remove("hidden");
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => el.classList.add("hidden"), ms);
  }

  // -- altitude colours: stops served by /app/colors.json (tar1090's defaults) --
  let SCALE = null;
  async function loadScale() {
    const res = await fetch("/app/colors.json");
    SCALE = await res.json();
    return SCALE;
  }
  function interp(x, stops) {
    if (x <= stops[0][0]) return stops[0][1];
    for (let i = 1; i < stops.length; i++) {
      const [x1, y1] = stops[i];
      if (x <= x1) {
        const [x0, y0] = stops[i - 1];
        return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
      }
    }
    return stops[stops.length - 1][1];
  }
  function hsl(altitude, onground) {
    if (onground) return SCALE.ground;
    if (altitude === null || altitude === undefined || Number.isNaN(altitude)) return SCALE.unknown;
    const h = interp(altitude, SCALE.hue);
    return [h, SCALE.saturation, interp(h, SCALE.lightness)];
  }
  function color(altitude, onground) {
    const [h, s, l] = hsl(altitude, onground);
    return `hsl(${Math.round(h)}, ${Math.round(s)}%, ${Math.round(l)}%)`;
  }

  // -- formatting --
  const pad = (n) => String(n).padStart(2, "0");
  function hms(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`;
  }
  function dayHms(iso) {
    if (!iso) return "—";
    return new Date(iso).toISOString().slice(0, 19).replace("T", " ") + "Z";
  }
  function num(v, digits = 0) {
    return v === null || v === undefined ? "—" : Number(v).toLocaleString("en-US", {
      maximumFractionDigits: digits,
      minimumFractionDigits: digits,
    });
  }
  function text(v) {
    return v === null || v === undefined || v === "" ? "—" : String(v);
  }
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const so = document.getElementById("signout");
    if (so) so.addEventListener("click", signOut);
  });

  const scale = () => SCALE;
  return { api, askToken, signOut, notice, loadScale, scale, hsl, color, hms, dayHms, num, text, el };
})();
