/** Generated container names in Docker's adjective_surname form. */
import { randomInt } from 'node:crypto';

const ADJECTIVES = (
  'admiring adoring affectionate agitated amazing angry awesome beautiful blissful bold brave busy charming ' +
  'clever compassionate competent condescending confident cool cranky crazy dazzling determined distracted ' +
  'dreamy eager ecstatic elastic elated elegant eloquent epic exciting fervent festive flamboyant focused ' +
  'friendly frosty funny gallant gifted goofy gracious great happy hardcore heuristic hopeful hungry infallible ' +
  'inspiring intelligent interesting jolly jovial keen kind laughing loving lucid magical modest musing mystifying ' +
  'naughty nervous nice nifty nostalgic objective optimistic peaceful pedantic pensive practical priceless quirky ' +
  'quizzical recursing relaxed reverent romantic sad serene sharp silly sleepy stoic strange stupefied suspicious ' +
  'sweet tender thirsty trusting unruffled upbeat vibrant vigilant vigorous wizardly wonderful xenodochial youthful ' +
  'zealous zen'
).split(' ');

const SURNAMES = (
  'agnesi albattani allen almeida archimedes ardinghelli aryabhata austin babbage banach bardeen bartik bassi ' +
  'beaver bell bhabha bhaskara black blackburn blackwell bohr booth borg bose boyd brahmagupta brattain brown ' +
  'buck burnell cannon carson cartwright cerf chandrasekhar chaplygin chatelet chatterjee chebyshev clarke cohen ' +
  'colden cori cray curie darwin davinci dewdney dhawan diffie dijkstra dirac driscoll dubinsky easley edison ' +
  'einstein elbakyan elgamal elion ellis engelbart euclid euler faraday feistel fermat fermi feynman franklin ' +
  'gagarin galileo galois ganguly gates gauss germain goldberg goldstine goldwasser golick goodall gould ' +
  'greider grothendieck haibt hamilton hawking heisenberg hellman hermann herschel hertz heyrovsky hodgkin ' +
  'hofstadter hoover hopper hugle hypatia jackson jang jemison jennings jepsen johnson joliot jones kalam ' +
  'kapitsa kare keldysh keller kepler khayyam khorana kilby kirch knuth kowalevski lalande lamarr lamport ' +
  'leakey leavitt lederberg lehmann lewin lichterman liskov lovelace lumiere mahavira margulis matsumoto ' +
  'maxwell mayer mccarthy mcclintock mclaren mclean mcnulty meitner mendel mendeleev meninsky merkle mestorf ' +
  'mirzakhani montalcini moore morse moser murdock napier nash neumann newton nightingale nobel noether ' +
  'northcutt noyce panini pare pascal pasteur payne perlman pike poincare poitras proskuriakova ptolemy ' +
  'raman ramanujan rhodes ride ritchie robinson roentgen rosalind rubin saha sammet sanderson satoshi ' +
  'shamir shannon shaw shirley shockley shtern sinoussi snyder solomon spence stonebraker sutherland swanson ' +
  'swartz swirles taussig tesla tharp thompson torvalds tu turing varahamihira vaughan villani visvesvaraya ' +
  'volhard wescoff wilbur wiles williams williamson wilson wing wozniak wright wu yalow yonath zhukovsky'
).split(' ');

const pick = (list: string[]): string => list[randomInt(list.length)] ?? 'x';

/** A random name; `retry` > 0 appends a digit, as Docker does after a collision. */
export function generateName(retry = 0): string {
  const name = `${pick(ADJECTIVES)}_${pick(SURNAMES)}`;
  return retry > 0 ? `${name}${randomInt(10)}` : name;
}

/** Docker's rule for user-given container names. */
export const VALID_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
