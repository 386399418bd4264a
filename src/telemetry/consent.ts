/** The app's consent state: `pending` holds events (bounded) until granted or denied. */
export type Consent = 'granted' | 'denied' | 'pending';

/** What the browser says about tracking. */
export interface PrivacySignals {
  /** `navigator.doNotTrack === '1'`. */
  doNotTrack: boolean;
  /** Global Privacy Control: `navigator.globalPrivacyControl === true`. */
  gpc: boolean;
}

/** Read Do-Not-Track and Global Privacy Control from `navigator`; both `false` where there is none. */
export function browserPrivacySignals(): PrivacySignals {
  const n = (typeof navigator != 'undefined' ? navigator : {}) as Record<string, unknown>;
  return { doNotTrack: n.doNotTrack == '1', gpc: n.globalPrivacyControl === true };
}

/** Effective consent: a browser opt-out signal (when respected) wins over anything the app says. */
export function effectiveConsent(consent: Consent, signals: PrivacySignals, respect: boolean): Consent {
  return respect && (signals.doNotTrack || signals.gpc) ? 'denied' : consent;
}
