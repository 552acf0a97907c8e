/**
 * Writes seeds/web_events/: synthetic website events (page views, product views, logins, identify
 * calls, orders) for the customers of the UCI Online Retail seed, so the demo project has two
 * sources for identity resolution: the shop's orders (customer ids) and the website's events
 * (anonymous device ids, emails, phones, logins).
 *
 *   npx tsx scripts/generate-web-events.ts
 *
 * Deterministic: a fixed-seed PRNG, one stream per customer / visitor, no clock, no network. The
 * only inputs are the customer ids, invoice numbers, stock codes, invoice times and countries of
 * seeds/online_retail/*.csv; names, emails, phones and device ids are made up here.
 *
 * What the data holds, on purpose (see seeds/web_events/README.md):
 * - every known customer gets 1-3 devices (anonymous ids), a session before each real order that
 *   ends with `Order Completed` (order_id = the invoice) at the invoice time, a logged-in session at
 *   each cancellation, and some browsing sessions (some after their last order);
 * - logins carry user_id = the customer id as the staging models spell it (17850, not 17850.0);
 * - identify calls carry a made-up email (on reserved `.test` domains) and, for some UK customers, a
 *   phone in the Ofcom drama range 07700 900000-900999, spelled in national and international forms;
 *   some emails are upper-cased or padded with spaces, for normalization to fix;
 * - some second and third devices never log in: only an email or a phone typed into a form links them;
 * - guest checkouts (invoices with no customer id) come from devices that never log in, most of
 *   them with an email at checkout; a few guests use the email of a known customer;
 * - anonymous visitors who never identify, some who type placeholders (`unknown`, `n/a`,
 *   `test@example.com`), a broken tag that sends user_id "undefined"/"null", and two family
 *   computers used to log into two different customer accounts (one device, two user ids).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';

const ROOT = join(__dirname, '..');
const RETAIL_DIR = join(ROOT, 'seeds', 'online_retail');
const OUT_DIR = join(ROOT, 'seeds', 'web_events');
const SEED = 20101224;

/**
 * The days of generated traffic: November (browsing before the invoices of the seed begin, so the
 * 30-day windows of computed traits leave some out) to the last invoice day.
 */
const FIRST_DAY = Date.UTC(2010, 10, 1); // 2010-11-01
const LAST_DAY = Date.UTC(2010, 11, 23); // 2010-12-23
const MINUTE = 60_000;
const DAY = 86_400_000;

// ── randomness ────────────────────────────────────────────────────────────────

/** 32-bit FNV-1a, to derive a stream's seed from a label. */
function hash(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

class Rng {
  private state: number;
  constructor(label: string) {
    this.state = (hash(label) ^ SEED) >>> 0;
  }
  /** mulberry32: uniform in [0, 1) */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  /** a uuid-like (version 4 layout) id */
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.next() * 16).toString(16));
    hex[12] = '4';
    hex[16] = '89ab'[Math.floor(this.next() * 4)];
    const s = hex.join('');
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }
}

// ── the retail data ───────────────────────────────────────────────────────────

interface Invoice {
  invoiceNo: string;
  customerId: string | null;
  at: number;
  country: string;
  stockCodes: string[];
  cancellation: boolean;
}

/** A product page exists for real products only (not POST, DOT, M, BANK CHARGES, gift vouchers...). */
const PRODUCT_CODE = /^\d{5}[A-Za-z]{0,2}$/;

function readRetail(): { invoices: Invoice[]; popular: string[] } {
  const byNo = new Map<string, Invoice>();
  const lines = new Map<string, number>();
  for (const file of readdirSync(RETAIL_DIR).filter((f) => f.endsWith('.csv')).sort()) {
    const rows = parse<Record<string, string>>(readFileSync(join(RETAIL_DIR, file)), { columns: true, bom: true, relax_quotes: true });
    for (const r of rows) {
      let inv = byNo.get(r.InvoiceNo);
      if (!inv) {
        // CustomerID arrives as a float ("17850.0"); the staging models cast it to an integer
        const customerId = r.CustomerID ? String(Math.trunc(Number(r.CustomerID))) : null;
        inv = { invoiceNo: r.InvoiceNo, customerId, at: parseTime(r.InvoiceDate), country: r.Country, stockCodes: [], cancellation: r.InvoiceNo.startsWith('C') };
        byNo.set(r.InvoiceNo, inv);
      }
      // stg_orders dates an invoice by its earliest line
      inv.at = Math.min(inv.at, parseTime(r.InvoiceDate));
      if (PRODUCT_CODE.test(r.StockCode)) {
        if (!inv.stockCodes.includes(r.StockCode)) inv.stockCodes.push(r.StockCode);
        lines.set(r.StockCode, (lines.get(r.StockCode) ?? 0) + 1);
      }
    }
  }
  const invoices = [...byNo.values()].sort((a, b) => a.at - b.at || a.invoiceNo.localeCompare(b.invoiceNo));
  const popular = [...lines].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 300).map(([code]) => code);
  return { invoices, popular };
}

function parseTime(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(s);
  if (!m) throw new Error(`unexpected InvoiceDate ${s}`);
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

function formatTime(t: number): string {
  return new Date(t).toISOString().slice(0, 19).replace('T', ' ');
}

// ── people ────────────────────────────────────────────────────────────────────

const FIRST_NAMES = [
  'Oliver', 'Amelia', 'George', 'Isla', 'Harry', 'Ava', 'Jack', 'Mia', 'Jacob', 'Emily', 'Charlie', 'Grace',
  'Thomas', 'Sophie', 'James', 'Lily', 'William', 'Evie', 'Joshua', 'Ella', 'Daniel', 'Chloe', 'Samuel', 'Jessica',
  'Alfie', 'Ruby', 'Henry', 'Freya', 'Edward', 'Alice', 'Arthur', 'Florence', 'Oscar', 'Poppy', 'Alexander', 'Rosie',
  'Joseph', 'Hannah', 'Benjamin', 'Sarah', 'David', 'Margaret', 'Peter', 'Susan', 'Michael', 'Helen', 'Robert', 'Anne',
  'Richard', 'Claire', 'Andrew', 'Rachel', 'Paul', 'Joanne', 'Mark', 'Nicola', 'Stephen', 'Karen', 'Ian', 'Fiona',
  'Lukas', 'Hanna', 'Felix', 'Lena', 'Louis', 'Camille', 'Hugo', 'Chloé', 'Pedro', 'Inês', 'Sean', 'Aoife',
];
const LAST_NAMES = [
  'Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Robinson', 'Wright', 'Thompson',
  'Evans', 'Walker', 'White', 'Roberts', 'Green', 'Hall', 'Wood', 'Jackson', 'Clarke', 'Patel', 'Khan', 'Lewis',
  'James', 'Phillips', 'Mason', 'Mitchell', 'Rose', 'Davis', 'Rodriguez', 'Cox', 'Alexander', 'Morgan', 'Moore',
  'Hughes', 'Edwards', 'Hill', 'Harris', 'Turner', 'Cooper', 'Ward', 'Morris', 'King', 'Baker', 'Harrison', 'Morrison',
  'Bennett', 'Shaw', 'Holmes', 'Fletcher', 'Barker', 'Lloyd', 'Murray', 'Ellis', 'Marshall', 'Owen', 'Palmer', 'Kennedy',
  'Müller', 'Schmidt', 'Fischer', 'Martin', 'Bernard', 'Dubois', 'Silva', 'Santos', 'Murphy', 'Kelly', 'Byrne', 'Walsh',
];
/** Reserved for testing (RFC 6761): never a real mailbox. */
const EMAIL_DOMAINS = ['postbox.test', 'mailhub.test', 'inbox.test', 'webpost.test', 'letterbox.test'];
const WORK_DOMAINS = ['giftshop-ltd.test', 'craftsupplies.test', 'homewares-direct.test'];
/** Ofcom's numbers for drama: 07700 900000 to 07700 900999 are never allocated to anyone. */
const DRAMA_RANGE = 1000;

interface Person {
  first: string;
  last: string;
  email: string;
  workEmail?: string;
  /** six digits of 07700 9xxxxx */
  phone?: string;
}

const usedEmails = new Set<string>();

function makePerson(rng: Rng, lastName?: string): Person {
  const first = rng.pick(FIRST_NAMES);
  const last = lastName ?? rng.pick(LAST_NAMES);
  const ascii = (s: string) => s.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase();
  const [f, l] = [ascii(first), ascii(last)];
  for (;;) {
    const n = rng.int(1, 999);
    const local = rng.pick([`${f}.${l}${n}`, `${f}${l}${n}`, `${f[0]}.${l}${n}`, `${f}_${l}${n}`, `${l}.${f}${n}`]);
    const email = `${local}@${rng.pick(EMAIL_DOMAINS)}`;
    if (!usedEmails.has(email)) {
      usedEmails.add(email);
      return { first, last, email };
    }
  }
}

/** How a person typed their email this time: mostly as is, sometimes capitalized, shouted or padded. */
function typedEmail(rng: Rng, email: string): string {
  const r = rng.next();
  if (r < 0.72) return email;
  if (r < 0.84) return email.replace(/(^|[._@])([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
  if (r < 0.91) return email.toUpperCase();
  return rng.pick([` ${email}`, `${email} `, `  ${email}  `]);
}

/** The same mobile number as a UK visitor may type it (the default country GB reads the national forms). */
function typedPhone(rng: Rng, six: string, national: boolean): string {
  const [a, b] = [six.slice(0, 3), six.slice(3)];
  if (national) return rng.pick([`07700 ${six}`, `07700${six}`, `07700 ${a} ${b}`, `(07700) ${six}`]);
  return rng.pick([`+44 7700 ${six}`, `+447700${six}`, `+44 (0)7700 ${six}`, `(+44) 7700-${a}-${b}`, `0044 7700 ${six}`]);
}

// ── events ────────────────────────────────────────────────────────────────────

interface WebEvent {
  type: 'page' | 'track' | 'identify';
  event?: string;
  anonymousId: string;
  userId?: string;
  email?: string;
  phone?: string;
  firstName?: string;
  lastName?: string;
  productId?: string;
  orderId?: string;
  pagePath?: string;
  at: number;
  seq: number;
}

const events: WebEvent[] = [];
let seq = 0;

type Step = Omit<WebEvent, 'anonymousId' | 'at' | 'seq' | 'userId'> & { login?: string };

/** A browser: its anonymous id, the user id it remembers after a login, and the visits made on it. */
interface Device {
  id: string;
  userId?: string;
  visits: [number, number][];
}

const newDevice = (rng: Rng): Device => ({ id: rng.uuid(), visits: [] });

/**
 * The start of a visit of `length` ms planned at `start`, moved so that it overlaps no other visit
 * on the device: later if it still ends before the last day is over, otherwise earlier.
 */
function freeSlot(rng: Rng, device: Device, start: number, length: number): number {
  const gap = 10 * MINUTE;
  const clashes = (t: number) => device.visits.find(([a, b]) => t < b + gap && t + length > a - gap);
  let t = start;
  for (let c = clashes(t); c; c = clashes(t)) t = c[1] + rng.int(30, 180) * MINUTE;
  if (t + length < LAST_DAY + DAY) return t;
  t = start;
  for (let c = clashes(t); c; c = clashes(t)) t = c[0] - length - rng.int(30, 180) * MINUTE;
  return t;
}

/**
 * One visit: the steps happen in order from `start`, the last one exactly at `endsAt` when given
 * (an order at its invoice time). Events carry the user id the device remembers; a login step sets
 * it, as Segment's browser SDK keeps the user id of the last identify.
 */
function session(rng: Rng, device: Device, start: number, steps: Step[], endsAt?: number): void {
  const begin = endsAt === undefined ? start : Math.min(start, endsAt - steps.length * 5000);
  const end = endsAt ?? start + steps.length * rng.int(40, 150) * 1000;
  const spacing = (end - begin) / steps.length;
  let previous = begin - 1000;
  steps.forEach((step, i) => {
    const { login, ...fields } = step;
    if (login) device.userId = login;
    const planned = begin + spacing * i + rng.next() * (spacing / 2);
    const at = endsAt !== undefined && i === steps.length - 1 ? endsAt : Math.max(previous + 1000, Math.round(planned / 1000) * 1000);
    previous = at;
    events.push({ ...fields, anonymousId: device.id, userId: device.userId, at, seq: seq++ });
  });
  device.visits.push([begin, previous]);
}

const page = (pagePath: string): Step => ({ type: 'page', pagePath });
const productView = (code: string): Step[] => [page(`/products/${code}`), { type: 'track', event: 'Product Viewed', productId: code, pagePath: `/products/${code}` }];
const CATEGORIES = ['/category/christmas', '/category/home', '/category/kitchen', '/category/gifts', '/category/garden', '/category/party', '/sale'];

function productsFor(rng: Rng, own: string[], popular: string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(own.length && rng.chance(0.8) ? rng.pick(own) : rng.pick(popular));
  return out;
}

/** A random time on a random day in [from, to] (day starts), between 07:00 and 22:59. */
function randomTime(rng: Rng, from: number, to: number): number {
  const days = Math.floor((to - from) / DAY);
  return from + rng.int(0, days) * DAY + rng.int(7 * 60, 22 * 60 + 59) * MINUTE;
}

// ── the generator ─────────────────────────────────────────────────────────────

/** How a customer's extra device gets linked to them when nobody logs in on it. */
type Link = 'login' | 'email' | 'phone' | 'none';

function generate(): void {
  const { invoices, popular } = readRetail();
  const customers = new Map<string, Invoice[]>();
  for (const inv of invoices) {
    if (inv.customerId) customers.set(inv.customerId, [...(customers.get(inv.customerId) ?? []), inv]);
  }
  const customerIds = [...customers.keys()].sort((a, b) => Number(a) - Number(b));
  const ukIds = customerIds.filter((id) => customers.get(id)![0].country === 'United Kingdom');

  // two families: one computer, two customer accounts (same surname)
  const familyRng = new Rng('families');
  const families: [string, string][] = [];
  const inFamily = new Map<string, number>();
  while (families.length < 2) {
    const a = familyRng.pick(ukIds);
    const b = familyRng.pick(ukIds);
    if (a === b || inFamily.has(a) || inFamily.has(b)) continue;
    families.push([a, b]);
    inFamily.set(a, families.length - 1).set(b, families.length - 1);
  }
  const familyDevices = families.map(() => newDevice(familyRng));
  const familySurnames: string[] = [];

  // phones: distinct numbers of the drama range, handed out in a shuffled order
  const phoneRng = new Rng('phones');
  const numbers = Array.from({ length: DRAMA_RANGE }, (_, i) => String(900000 + i));
  for (let i = numbers.length - 1; i > 0; i--) {
    const j = phoneRng.int(0, i);
    [numbers[i], numbers[j]] = [numbers[j], numbers[i]];
  }
  let nextPhone = 0;

  const people = new Map<string, Person>();
  for (const id of customerIds) {
    const rng = new Rng(`customer-${id}`);
    const family = inFamily.get(id);
    const person = makePerson(rng, family === undefined ? undefined : familySurnames[family]);
    if (family !== undefined) familySurnames[family] ??= person.last;
    if (rng.chance(0.06)) {
      const work = `${person.first[0].toLowerCase()}.${person.last.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase()}${id.slice(-2)}@${rng.pick(WORK_DOMAINS)}`;
      if (!usedEmails.has(work)) person.workEmail = usedEmails.add(work) && work;
    }
    if (customers.get(id)![0].country === 'United Kingdom' && rng.chance(0.35)) person.phone = numbers[nextPhone++];
    people.set(id, person);
  }
  // two customers who type the placeholder into the newsletter form on their own computer
  const placeholderRng = new Rng('placeholder-customers');
  const typedPlaceholder = new Set<string>();
  while (typedPlaceholder.size < 2) typedPlaceholder.add(placeholderRng.pick(customerIds));

  for (const id of customerIds) {
    const rng = new Rng(`customer-${id}-events`);
    const person = people.get(id)!;
    const orders = customers.get(id)!;
    const deviceCount = rng.chance(0.45) ? 1 : rng.chance(0.73) ? 2 : 3;
    const devices: (Device & { link: Link })[] = [{ ...newDevice(rng), link: 'login' }];
    if (deviceCount >= 2) devices.push({ ...newDevice(rng), link: rng.chance(0.5) ? 'login' : rng.chance(0.6) ? 'email' : 'none' });
    if (deviceCount >= 3) devices.push({ ...newDevice(rng), link: person.phone ? 'phone' : 'email' });
    const linked = new Set<Device>();

    // a login identifies with the account's email (now and then the work email the account also
    // has) and, the first time and now and then after, the account's phone
    const accountEmails: string[] = [];
    let phoneSent = false;
    const identify = (): Step => {
      const email = person.workEmail && accountEmails.length > 0 && rng.chance(0.5) ? person.workEmail : person.email;
      if (!accountEmails.includes(email)) accountEmails.push(email);
      const withPhone = person.phone !== undefined && (!phoneSent || rng.chance(0.4));
      phoneSent ||= withPhone;
      return {
        type: 'identify',
        login: id,
        email: typedEmail(rng, email),
        ...(withPhone ? { phone: typedPhone(rng, person.phone!, rng.chance(0.3)) } : {}),
        firstName: person.first,
        lastName: person.last,
      };
    };
    const signIn = (): Step[] => [page('/login'), { type: 'track', event: 'Signed In', login: id }, identify()];
    /** a login, unless the device still remembers this customer (now and then a login has expired) */
    const loginOn = (device: Device): Step[] => (device.userId === id && rng.chance(0.85) ? [] : signIn());

    // every visit of this customer, played in time order so a device remembers only earlier logins
    const plans: { at: number; play: () => void }[] = [];
    let previous: { inv: Invoice; device: Device } | undefined;
    for (const inv of orders) {
      plans.push({
        at: inv.at,
        play: () => {
          if (inv.cancellation) {
            // cancelled from the account pages of their main computer
            const device = devices[0];
            const steps = [...loginOn(device), page('/account/orders'), { type: 'track', event: 'Order Cancelled', orderId: inv.invoiceNo, pagePath: '/account/orders' } as Step];
            session(rng, device, freeSlot(rng, device, inv.at - rng.int(3, 10) * MINUTE, 0), steps, inv.at);
            return;
          }
          const views = productsFor(rng, inv.stockCodes, popular, rng.int(1, 3)).flatMap(productView);
          const completed: Step = { type: 'track', event: 'Order Completed', orderId: inv.invoiceNo, pagePath: '/checkout' };
          if (previous && inv.at - previous.inv.at < 45 * MINUTE) {
            // another order in the same visit: straight back to the products
            session(rng, previous.device, previous.inv.at + 30_000, [...views, page('/cart'), page('/checkout'), completed], inv.at);
            return;
          }
          const device = rng.chance(0.75) ? devices[0] : rng.pick(devices.filter((d) => d.link === 'login'));
          linked.add(device);
          const login = loginOn(device);
          const loginFirst = rng.chance(0.5);
          const steps = [page(rng.chance(0.6) ? '/' : rng.pick(CATEGORIES)), ...(loginFirst ? login : []), ...views, page('/cart'), ...(loginFirst ? [] : login), page('/checkout'), completed];
          const start = Math.min(freeSlot(rng, device, inv.at - rng.int(6, 35) * MINUTE, 0), inv.at - steps.length * 20_000);
          session(rng, device, start, steps, inv.at);
          previous = { inv, device };
        },
      });
    }

    // browsing between orders, and for some after the last one
    const own = orders.flatMap((o) => o.stockCodes);
    const lastAt = orders[orders.length - 1].at;
    const lastDay = lastAt - (lastAt % DAY);
    const browse = (at: number) =>
      plans.push({
        at,
        play: () => {
          const device = devices.length > 1 && rng.chance(0.7) ? rng.pick(devices.slice(1)) : devices[0];
          const steps: Step[] = [page(rng.chance(0.5) ? '/' : rng.pick(CATEGORIES)), ...productsFor(rng, own, popular, rng.int(1, 3)).flatMap(productView)];
          if (!linked.has(device)) {
            linked.add(device);
            if (device.link === 'login') steps.splice(1, 0, ...loginOn(device));
            // a newsletter form: an email, no login
            if (device.link === 'email') steps.push(page('/newsletter'), { type: 'identify', email: typedEmail(rng, accountEmails.length ? rng.pick(accountEmails) : person.email), firstName: person.first });
            // "text me when it is back in stock": a phone, typed the national way
            if (device.link === 'phone') steps.push({ type: 'identify', phone: typedPhone(rng, person.phone!, true) });
          }
          session(rng, device, freeSlot(rng, device, at, steps.length * 150_000), steps);
        },
      });
    for (let i = rng.pick([0, 0, 1, 1, 1, 1, 2, 2]); i > 0; i--) browse(randomTime(rng, FIRST_DAY, LAST_DAY));
    if (lastDay < LAST_DAY && rng.chance(0.3)) browse(randomTime(rng, lastDay + DAY, LAST_DAY));

    if (typedPlaceholder.has(id)) {
      // the newsletter form on their own computer, not logged in: only the device ties it to them
      const at = randomTime(rng, lastDay, LAST_DAY);
      plans.push({ at, play: () => session(rng, devices[0], freeSlot(rng, devices[0], at, 10 * MINUTE), [page('/'), page('/newsletter'), { type: 'identify', email: 'test@example.com' }]) });
    }

    // the family computer: each account logs in on it
    const family = inFamily.get(id);
    if (family !== undefined) {
      const device = familyDevices[family];
      const at = randomTime(rng, FIRST_DAY, LAST_DAY);
      plans.push({ at, play: () => session(rng, device, freeSlot(rng, device, at, 20 * MINUTE), [page('/'), ...signIn(), ...productsFor(rng, own, popular, 2).flatMap(productView)]) });
    }

    plans.sort((a, b) => a.at - b.at).forEach((p) => p.play());
  }

  // guest checkouts: invoices with no customer id, from devices that never log in
  const guestRng = new Rng('guests');
  const guests: { person: Person; device: Device }[] = [];
  for (const inv of invoices.filter((i) => !i.customerId && !i.cancellation)) {
    let guest: { person: Person; device: Device };
    if (guests.length && guestRng.chance(0.15)) {
      // a returning guest, on the same device or a new one (then only the email links the orders)
      const previous = guestRng.pick(guests);
      guest = { person: previous.person, device: guestRng.chance(0.5) ? previous.device : newDevice(guestRng) };
    } else {
      // a few known customers check out as guests with their usual email
      const known = guestRng.chance(0.06) ? people.get(guestRng.pick(customerIds)) : undefined;
      guest = { person: known ?? makePerson(guestRng), device: newDevice(guestRng) };
      guests.push(guest);
    }
    const steps: Step[] = [
      page(guestRng.chance(0.5) ? '/' : guestRng.pick(CATEGORIES)),
      ...productsFor(guestRng, inv.stockCodes, popular, guestRng.int(1, 3)).flatMap(productView),
      page('/cart'),
      page('/checkout'),
      ...(guestRng.chance(0.85) ? [{ type: 'identify', email: typedEmail(guestRng, guest.person.email), firstName: guest.person.first, lastName: guest.person.last } as Step] : []),
      { type: 'track', event: 'Order Completed', orderId: inv.invoiceNo, pagePath: '/checkout' },
    ];
    session(guestRng, guest.device, freeSlot(guestRng, guest.device, inv.at - guestRng.int(5, 25) * MINUTE, 0), steps, inv.at);
  }

  // visitors who never buy: most never say who they are
  const PLACEHOLDER_EMAILS = ['unknown', 'test@example.com', 'TEST@EXAMPLE.COM', ' test@example.com', 'n/a', 'none', 'null'];
  const PLACEHOLDER_PHONES = ['n/a', '00000000000', 'unknown', '0'];
  for (let v = 0; v < 320; v++) {
    const rng = new Rng(`visitor-${v}`);
    const device = newDevice(rng);
    // a broken tag on a landing page sends the text "undefined" (or "null") as the user id
    const brokenTag = v % 40 === 7 ? (v % 80 === 7 ? 'undefined' : 'null') : undefined;
    for (let s = rng.chance(0.3) ? 2 : 1; s > 0; s--) {
      const steps: Step[] = [page(rng.chance(0.5) ? '/' : rng.pick(CATEGORIES)), ...productsFor(rng, [], popular, rng.int(0, 3)).flatMap(productView)];
      if (v % 20 === 3 && s === 1) steps.push(page('/newsletter'), { type: 'identify', email: rng.pick(PLACEHOLDER_EMAILS), ...(rng.chance(0.5) ? { phone: rng.pick(PLACEHOLDER_PHONES) } : {}) });
      else if (v % 16 === 5 && s === 1) {
        const lead = makePerson(rng);
        steps.push(page('/newsletter'), { type: 'identify', email: typedEmail(rng, lead.email), firstName: lead.first });
      }
      if (brokenTag) steps.forEach((step) => (step.login = brokenTag));
      session(rng, device, freeSlot(rng, device, randomTime(rng, FIRST_DAY, LAST_DAY), steps.length * 150_000), steps);
    }
  }
}

// ── output ────────────────────────────────────────────────────────────────────

const COLUMNS = ['message_id', 'type', 'event', 'anonymous_id', 'user_id', 'email', 'phone', 'first_name', 'last_name', 'product_id', 'order_id', 'page_path', 'occurred_at'];

function csvField(v: string | undefined): string {
  if (v === undefined || v === '') return '';
  return /[",\n\r]|^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function write(): void {
  events.sort((a, b) => a.at - b.at || a.seq - b.seq);
  const files = new Map<string, string[]>();
  events.forEach((e, i) => {
    const row = [
      `web-${String(i + 1).padStart(6, '0')}`, e.type, e.event, e.anonymousId, e.userId, e.email, e.phone, e.firstName, e.lastName,
      e.productId, e.orderId, e.pagePath, formatTime(e.at),
    ];
    const month = formatTime(e.at).slice(0, 7);
    if (!files.has(month)) files.set(month, [COLUMNS.join(',')]);
    files.get(month)!.push(row.map(csvField).join(','));
  });
  mkdirSync(OUT_DIR, { recursive: true });
  for (const f of readdirSync(OUT_DIR).filter((f) => f.endsWith('.csv'))) rmSync(join(OUT_DIR, f));
  for (const [month, lines] of files) writeFileSync(join(OUT_DIR, `${month}.csv`), lines.join('\n') + '\n');
  const count = (p: (e: WebEvent) => boolean) => events.filter(p).length.toLocaleString('en-GB');
  console.log(`wrote ${events.length.toLocaleString('en-GB')} events to seeds/web_events/ (${[...files.keys()].map((m) => `${m}.csv`).join(', ')})`);
  console.log(`  ${count((e) => e.type === 'page')} page, ${count((e) => e.type === 'track')} track, ${count((e) => e.type === 'identify')} identify; ${new Set(events.map((e) => e.anonymousId)).size.toLocaleString('en-GB')} devices`);
}

generate();
write();
