/** Berth's own version: what /version, /info, the Server header and `berthd --version` report. */
export const BERTH_VERSION = '0.1.0';
