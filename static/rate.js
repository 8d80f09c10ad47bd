// The rating page works without JavaScript. With it, a network error does not lose the rating:
// the form is sent again (up to three times, waiting longer each time) with the same hidden
// request_key, so a rating the server stored before the connection broke is not stored twice —
// the server answers the first answer again. Any answer from the server is then shown as the
// browser would show it.
(function () {
  var form = document.getElementById('rate-form');
  if (!form || !window.fetch || !window.URLSearchParams) return;
  var status = document.createElement('p');
  status.className = 'hint';
  status.setAttribute('role', 'status');
  form.appendChild(status);
  form.addEventListener('submit', function (e) {
    if (form.dataset.sending) { e.preventDefault(); return; }
    e.preventDefault();
    form.dataset.sending = '1';
    var button = form.querySelector('button[type=submit]');
    if (button) button.disabled = true;
    var body = new URLSearchParams(new FormData(form)).toString();
    var attempt = 0;
    function send() {
      fetch(form.action, {
        method: 'POST',
        body: body,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        credentials: 'same-origin',
        redirect: 'follow',
      }).then(function (resp) {
        if (resp.redirected) { window.location.replace(resp.url); return; }
        // An answer with the form again (errors, busy): let the browser show it, same key.
        delete form.dataset.sending;
        form.submit();
      }, function () {
        attempt += 1;
        if (attempt <= 3) {
          status.textContent = form.dataset.retry;
          setTimeout(send, 500 * Math.pow(2, attempt));
        } else {
          status.textContent = form.dataset.offline;
          delete form.dataset.sending;
          if (button) button.disabled = false;
        }
      });
    }
    send();
  });
})();
