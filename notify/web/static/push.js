// Web Push for the recipient's page: with the person's consent, this browser subscribes with the
// server's VAPID key (GET /api/v1/push-key) and the service worker (sw.js) shows urgent
// notices that arrive while no Muster page is open. Hidden where the browser or server lacks it.

import { api } from "/static/api.js";
import { show } from "/static/dom.js";
import { t } from "/static/i18n.js";

export async function offerPush(button, status) {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return;
  let key;
  try {
    key = (await api("/api/v1/push-key")).public_key;
  } catch {
    return; // Web Push is not configured on this server
  }
  const registration = await navigator.serviceWorker.register("/notify/static/sw.js");
  const existing = await registration.pushManager.getSubscription();
  if (existing && Notification.permission === "granted") {
    await save(existing);
    status.textContent = t("push.on");
    return;
  }
  show(button, true);
  button.addEventListener("click", async () => {
    try {
      if ((await Notification.requestPermission()) !== "granted") {
        status.textContent = t("push.not_allowed");
        return;
      }
      const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
      await save(subscription);
      show(button, false);
      status.textContent = t("push.on");
    } catch (error) {
      status.textContent = t("push.failed", { error: error.message });
    }
  });
}

async function save(subscription) {
  const { endpoint, keys } = subscription.toJSON();
  await api("/api/v1/push-subscriptions", { method: "POST", body: { endpoint, keys } });
}
