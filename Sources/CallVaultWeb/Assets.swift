// The app's own style sheet, script and icon, compiled into the binary: the vault's host has no internet, and
// the Content-Security-Policy allows nothing but the app itself (no inline script or style).
import Hummingbird

enum Assets {
    static func route(_ name: String) -> Response? {
        let (body, type): (String, String)
        switch name {
        case "app.css": (body, type) = (css, "text/css; charset=utf-8")
        case "app.js": (body, type) = (js, "text/javascript; charset=utf-8")
        case "icon.svg": (body, type) = (icon, "image/svg+xml")
        default: return nil
        }
        var r = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: body)))
        r.headers[.contentType] = type
        r.headers[.cacheControl] = "public, max-age=3600"
        return r
    }

    static let icon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><rect width="24" height="24" rx="5" fill="#1f6feb"/>\
        <path d="M6 14v-4M9 17V7M12 15V9M15 18V6M18 13v-2" stroke="#fff" stroke-width="2" stroke-linecap="round"/></svg>
        """

    static let css = """
        :root{--ink:#1c2430;--muted:#5d6b7e;--line:#dfe4ea;--bg:#f5f7fa;--card:#fff;--accent:#1f6feb;--accent-ink:#fff;
        --warn:#b35900;--warn-bg:#fff4e5;--bad:#b42318;--bad-bg:#fdecea;--ok:#137333;--ok-bg:#e6f4ea;--held:#6941c6;--held-bg:#f1ebff}
        *{box-sizing:border-box}
        body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
        a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
        .bar{display:flex;align-items:center;gap:24px;padding:0 24px;height:56px;background:#0f1b2d;color:#fff}
        .brand{display:flex;align-items:center;gap:8px;color:#fff;font-weight:700;font-size:17px;letter-spacing:.2px}
        .bar nav{display:flex;gap:4px;flex:1}
        .bar nav a{color:#c9d4e3;padding:8px 12px;border-radius:6px}.bar nav a:hover{background:#1d2d45;text-decoration:none;color:#fff}
        .bar nav a.active{background:#23395b;color:#fff}
        .user{display:flex;align-items:center;gap:10px;font-size:14px}.user .role{background:#23395b;border-radius:10px;padding:1px 8px;font-size:12px;color:#c9d4e3}
        .user form{margin:0}
        button.link{background:none;border:0;color:#c9d4e3;cursor:pointer;font:inherit;padding:0}button.link:hover{color:#fff;text-decoration:underline}
        main{max-width:1240px;margin:24px auto;padding:0 24px}
        footer{max-width:1240px;margin:32px auto;padding:0 24px;color:var(--muted);font-size:12px}
        h1{font-size:22px;margin:0 0 16px}h2{font-size:17px;margin:0 0 12px}
        .card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px;margin-bottom:20px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
        .filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px;align-items:end}
        label{display:flex;flex-direction:column;gap:4px;font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.3px}
        fieldset.choices{border:0;padding:0;margin:0 0 10px;display:flex;flex-wrap:wrap;gap:6px 18px;align-items:center}fieldset.choices legend{font-weight:600;margin-bottom:6px;padding:0}
        fieldset.choices label{flex-direction:row;align-items:center;gap:6px;font-size:14px;text-transform:none;letter-spacing:0;color:inherit}
        input,select,textarea{font:inherit;font-size:14px;padding:7px 9px;border:1px solid #c5ced9;border-radius:6px;background:#fff;color:var(--ink);text-transform:none;letter-spacing:0;font-weight:400}
        textarea{min-height:70px}
        input:focus,select:focus,textarea:focus{outline:2px solid #9ec1ff;border-color:var(--accent)}
        button,.button{display:inline-block;font:inherit;font-size:14px;font-weight:600;padding:8px 16px;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:var(--accent-ink);cursor:pointer}
        button.secondary,.button.secondary{background:#fff;color:var(--accent)}
        button.danger{background:var(--bad);border-color:var(--bad)}
        .actions{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
        table{width:100%;border-collapse:collapse;font-size:14px}
        th{text-align:left;font-size:12px;text-transform:uppercase;letter-spacing:.3px;color:var(--muted);border-bottom:1px solid var(--line);padding:8px 10px;white-space:nowrap}
        td{border-bottom:1px solid #eef1f5;padding:9px 10px;vertical-align:top}
        tr:hover td{background:#f8fafc}
        td.mono,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
        .muted{color:var(--muted)}.small{font-size:12px}
        .badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;white-space:nowrap}
        .badge.ok{background:var(--ok-bg);color:var(--ok)}.badge.warn{background:var(--warn-bg);color:var(--warn)}
        .badge.bad{background:var(--bad-bg);color:var(--bad)}.badge.held{background:var(--held-bg);color:var(--held)}.badge.neutral{background:#eef1f5;color:var(--muted)}
        .soon{color:var(--warn);font-weight:600}
        .pager{display:flex;justify-content:space-between;align-items:center;margin-top:14px}
        dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:6px 16px;margin:0}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
        .grid2{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,1fr);gap:20px}@media(max-width:900px){.grid2{grid-template-columns:minmax(0,1fr)}}
        .player{display:flex;flex-direction:column;gap:12px}.player audio{width:100%}
        .waveform{display:block;width:100%;height:auto;background:#0f1b2d;border-radius:8px;user-select:none}
        .wave{position:relative;cursor:pointer;border-radius:8px;touch-action:none}.wave:focus{outline:none}
        .wave:focus-visible{outline:3px solid #9ec1ff;outline-offset:3px}
        .wave .playhead{position:absolute;top:0;bottom:0;left:0;width:2px;background:#fff;box-shadow:0 0 0 1px rgba(15,27,45,.6);pointer-events:none}
        .wave .mark{position:absolute;top:0;bottom:0;width:0;border-left:2px dashed;pointer-events:none}
        .mark.announcement{border-color:#51cf66}.mark.note{border-color:#fcc419}
        .wave .band{position:absolute;top:0;bottom:0;pointer-events:none}.band.onhold{background:rgba(255,146,43,.28);border-left:1px solid #ff922b;border-right:1px solid #ff922b}
        ul.stretches{list-style:none;margin:4px 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 12px}
        .wave .lane-names{position:absolute;inset:0;display:flex;flex-direction:column;pointer-events:none}
        .wave .lane-names span{flex:1;padding:4px 8px;color:#dbe4ee;font-size:12px;text-shadow:0 1px 2px #0f1b2d}
        .lane-controls{display:flex;flex-wrap:wrap;gap:8px 16px;margin-top:8px}.lane{display:inline-flex;align-items:center;gap:6px}
        .lane-label{font-weight:600}.lane.silent .lane-label{color:#8a96a3;text-decoration:line-through}
        button.small{padding:4px 10px;font-size:13px}button[aria-pressed=true]{background:#2f6690;color:#fff;border-color:#2f6690}
        .swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}.swatch.announcement{background:#51cf66}.swatch.note{background:#fcc419}.swatch.onhold{background:#ff922b}
        .axis{position:relative;height:16px;font-size:11px;color:var(--muted);margin-top:-6px}.axis span{position:absolute;transform:translateX(-50%);white-space:nowrap}
        .axis span:first-child{transform:none}.axis span:last-child{transform:translateX(-100%)}
        ol.notes{list-style:none;padding:0;margin:0 0 14px}ol.notes li{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:baseline;padding:8px 0;border-bottom:1px solid #eef1f5}
        ol.notes .text{flex:1 1 200px;white-space:pre-wrap;overflow-wrap:anywhere}ol.notes form{margin:0}
        button.time{background:#fff;border:1px solid var(--line);color:var(--accent);padding:2px 8px;font:12.5px ui-monospace,SFMono-Regular,Menlo,monospace}
        button.link-button{background:none;border:0;color:var(--bad);padding:0;font-size:12px;font-weight:600}
        .note-form{display:flex;flex-direction:column;gap:10px}
        .notice{border-radius:8px;padding:12px 14px;margin-bottom:16px}.notice.ok{background:var(--ok-bg);color:var(--ok)}.notice.bad{background:var(--bad-bg);color:var(--bad)}
        .notice.warn{background:var(--warn-bg);color:var(--warn)}
        .login{max-width:380px;margin:80px auto}.login form{display:flex;flex-direction:column;gap:14px}
        .error h1{color:var(--bad)}
        .chart{width:100%;height:auto}.chart text{font:11px system-ui,sans-serif;fill:#5d6b7e}
        .stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px;margin-bottom:20px}
        .stat{background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px}.stat b{display:block;font-size:24px}.stat span{color:var(--muted);font-size:13px}
        tr.due td{background:var(--warn-bg)}
        .toolbar{justify-content:space-between;margin-bottom:10px}.mt{margin-top:10px}.span-all{grid-column:1/-1}
        label.inline{flex-direction:row;align-items:center;gap:8px}
        .chart-figure{margin:0}.legend span{display:inline-flex;align-items:center;gap:4px;margin-right:14px}
        #calls td:not(.mono),#match-table td:not(.mono),#hold-calls td:not(.mono),#holds-table td,#audit-table td:nth-child(2),#quarantine-table td:nth-child(-n+2),#request-calls td:nth-child(n+2),#requests-table td{white-space:nowrap}
        dl.details{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:0 8px;margin:0}dl.details dt{color:var(--muted)}dl.details dd{margin:0;overflow-wrap:anywhere}
        #audit-table td:last-child,#quarantine-table td:nth-child(4){overflow-wrap:anywhere}
        @media(max-width:700px){.bar{flex-wrap:wrap;height:auto;padding:8px 12px;gap:6px 12px}.bar nav{order:3;flex-basis:100%;flex-wrap:wrap}
        .bar nav a{padding:6px 8px}.user{margin-left:auto}main,footer{padding:0 12px}main{margin:12px auto}.card{padding:14px;overflow-x:auto}
        .pager{flex-wrap:wrap;gap:8px}#erase-plan li{overflow-wrap:anywhere}}
        """

    static let js = """
        // Player controls (speed, ±10 s) and confirmations; no inline script is allowed by the page's policy.
        document.addEventListener('DOMContentLoaded', () => {
          const audio = document.querySelector('audio#player');
          const wave = document.querySelector('#wave');
          if (audio && wave) {
            // The call's length is known before any audio is fetched (preload="none"): marks and seeks need no load.
            const length = () => audio.duration || Number(wave.dataset.duration) || 0;
            const fmt = t => { const m = Math.floor(t / 60), s = t - 60 * m; return m + ':' + (s < 10 ? '0' : '') + s.toFixed(1); };
            const place = (el, t) => { const d = Number(wave.dataset.duration) || 1; el.style.left = Math.max(0, Math.min(100, 100 * t / d)) + '%'; };
            document.querySelectorAll('.wave .mark, .axis span').forEach(m => place(m, Number(m.dataset.at)));
            document.querySelectorAll('.wave .band').forEach(b => {
              const d = Number(wave.dataset.duration) || 1, from = Number(b.dataset.at), to = Number(b.dataset.end);
              place(b, from); b.style.width = Math.max(0, Math.min(100, 100 * to / d) - Math.max(0, 100 * from / d)) + '%';
            });
            const head = document.querySelector('#playhead'), clock = document.querySelector('#clock');
            const draw = () => {
              place(head, audio.currentTime);
              wave.setAttribute('aria-valuenow', String(Math.round(audio.currentTime)));
              wave.setAttribute('aria-valuetext', fmt(audio.currentTime));
              if (clock) clock.textContent = fmt(audio.currentTime) + ' / ' + fmt(length());
            };
            const tick = () => { draw(); if (!audio.paused) requestAnimationFrame(tick); };
            audio.addEventListener('play', () => requestAnimationFrame(tick));
            ['timeupdate', 'seeked', 'loadedmetadata', 'pause'].forEach(e => audio.addEventListener(e, draw));
            const seek = (t, play) => {
              audio.currentTime = Math.max(0, Math.min(length(), t));
              draw();
              if (play && audio.paused) audio.play().catch(() => {});
            };
            const skip = s => seek(audio.currentTime + s, false);
            document.querySelectorAll('[data-skip]').forEach(b => b.addEventListener('click', () => skip(Number(b.dataset.skip))));
            const speed = document.querySelector('#speed');
            const rates = speed ? Array.from(speed.options).map(o => Number(o.value)) : [1];
            const setRate = r => { audio.playbackRate = r; if (speed) speed.value = String(r); };
            if (speed) speed.addEventListener('change', () => setRate(Number(speed.value)));
            // Click or drag on the waveform to seek (pointer events: mouse, pen and touch alike).
            const at = e => { const r = wave.getBoundingClientRect(); return length() * Math.max(0, Math.min(1, (e.clientX - r.left) / r.width)); };
            let dragging = false;
            wave.addEventListener('pointerdown', e => { dragging = true; wave.setPointerCapture(e.pointerId); wave.focus(); seek(at(e), false); });
            wave.addEventListener('pointermove', e => { if (dragging) seek(at(e), false); });
            wave.addEventListener('pointerup', () => { dragging = false; });
            // Keys: on the waveform, or anywhere on the page but in a field or on a button.
            document.addEventListener('keydown', e => {
              const t = e.target, tag = t && t.tagName;
              if (e.ctrlKey || e.metaKey || e.altKey || (t !== wave && ['INPUT', 'TEXTAREA', 'SELECT', 'BUTTON', 'A', 'AUDIO'].includes(tag))) return;
              const i = rates.indexOf(audio.playbackRate);
              switch (e.key) {
                case ' ': audio.paused ? audio.play().catch(() => {}) : audio.pause(); break;
                case 'ArrowLeft': skip(-5); break;
                case 'ArrowRight': skip(5); break;
                case 'j': case 'J': skip(-10); break;
                case 'l': case 'L': skip(10); break;
                case '[': setRate(rates[Math.max(0, (i < 0 ? rates.indexOf(1) : i) - 1)]); break;
                case ']': setRate(rates[Math.min(rates.length - 1, (i < 0 ? rates.indexOf(1) : i) + 1)]); break;
                default: return;
              }
              e.preventDefault();
            });
            // Mute and solo per lane: the audio is routed through one gain per channel, built on the first
            // press (a user gesture, as browsers require of an audio context). A soloed lane silences the others.
            const laneRows = Array.from(document.querySelectorAll('[data-lane]'));
            if (laneRows.length > 1) {
              let gains = null;
              const muted = new Set(), solo = new Set();
              const route = () => {
                const AC = window.AudioContext || window.webkitAudioContext;
                if (gains || !AC) return;
                const ctx = new AC(), n = laneRows.length;
                const split = ctx.createChannelSplitter(n), merge = ctx.createChannelMerger(n);
                ctx.createMediaElementSource(audio).connect(split);
                gains = laneRows.map((_, i) => { const g = ctx.createGain(); split.connect(g, i); g.connect(merge, 0, i); return g; });
                merge.connect(ctx.destination);
                audio.addEventListener('play', () => ctx.resume());
              };
              const apply = () => laneRows.forEach((row, i) => {
                const on = solo.size ? solo.has(i) : !muted.has(i);
                if (gains) gains[i].gain.value = on ? 1 : 0;
                row.dataset.gain = String(gains ? gains[i].gain.value : (on ? 1 : 0));
                row.classList.toggle('silent', !on);
                row.querySelector('[data-mute]').setAttribute('aria-pressed', String(muted.has(i)));
                row.querySelector('[data-solo]').setAttribute('aria-pressed', String(solo.has(i)));
              });
              const toggle = (set, i) => { route(); set.has(i) ? set.delete(i) : set.add(i); apply(); };
              laneRows.forEach((row, i) => {
                row.querySelector('[data-mute]').addEventListener('click', () => toggle(muted, i));
                row.querySelector('[data-solo]').addEventListener('click', () => toggle(solo, i));
              });
            }
            // A note's time plays the call from there; "use the player's moment" fills the form.
            document.querySelectorAll('[data-seek]').forEach(b => b.addEventListener('click', () => seek(Number(b.dataset.seek), true)));
            const now = document.querySelector('#note-now'), noteAt = document.querySelector('#note-at');
            if (now && noteAt) now.addEventListener('click', () => { noteAt.value = audio.currentTime.toFixed(1); });
            draw();
          }
          // A filter form sends only the fields in use, so the address stays readable and shareable.
          document.querySelectorAll('form[method=get]').forEach(f => f.addEventListener('submit', () => {
            f.querySelectorAll('input, select').forEach(i => { if (!i.value) i.disabled = true; });
          }));
          document.querySelectorAll('form[data-confirm]').forEach(f => f.addEventListener('submit', e => {
            if (!window.confirm(f.dataset.confirm)) e.preventDefault();
          }));
        });
        """
}
