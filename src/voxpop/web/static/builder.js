// The survey builder, made quicker where JavaScript runs: changing a question's kind redraws the form with that
// kind's settings at once (without it, "Update the form" does the same). No state lives here: the server renders it.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-refresh]");
  const button = select && select.form && select.form.querySelector("[data-refresh-button]");
  if (!button) return;
  // getAttribute: the form's buttons are named "action", which hides the form's own `action` property
  button.formAction = `${select.form.getAttribute("action")}#${select.closest("fieldset").id}`;
  select.form.requestSubmit(button);
});

// A draft's preview frames are filled by posting the draft to each of them; without JavaScript, by their buttons.
document.querySelectorAll("form[data-autosubmit]").forEach((form) => form.requestSubmit());
