const serviceWebpackConfig = require('../../tools/webpack/service.webpack');

module.exports = serviceWebpackConfig('users');
