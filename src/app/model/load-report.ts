/** What the model picker shows after a load: the loader's notes and the preprocessing in words. */
import { describePreprocess } from '../../io/preprocess';
import type { LoadReport } from '../views/ModelPicker';
import type { ModelInfo } from '../worker/protocol';

export const loadReport = (info: ModelInfo): LoadReport => ({ name: info.name, notes: info.notes, preprocessing: describePreprocess(info.preprocess) });
